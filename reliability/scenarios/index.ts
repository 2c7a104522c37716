import type { Context, Result } from '../lib/stack.ts'
import { apiKill } from './api-kill.ts'
import { sigtermUnderLoad } from './sigterm.ts'

export interface Scenario {
  run: (ctx: Context) => Promise<Result>
  needsRedis?: boolean
}

/** Every scenario, in the order `npm run reliability` runs them. */
export const SCENARIOS: Record<string, Scenario> = {
  sigterm: { run: sigtermUnderLoad },
  'api-kill': { run: apiKill }
}
