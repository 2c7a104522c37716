import { LIMITS } from '../model.ts'

// The step budget a run may not exceed.

/**
 * Thrown when a run takes more steps than its budget (LIMITS.engineSteps unless the caller gives
 * a smaller one): its design is refused, not retried. `code` names it across a thread boundary.
 */
export class EngineBudgetError extends Error {
  readonly code = 'ENGINE_BUDGET'
  readonly limit: number
  constructor(limit: number = LIMITS.engineSteps) {
    super(`the simulation took more than ${limit} steps`)
    this.limit = limit
    this.name = 'EngineBudgetError'
  }
}
