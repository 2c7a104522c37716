// The simulation engine: pure functions, no I/O. Same design, profile and seed → same result.
// Its parts live in ./engine/; this is what the rest of the code imports.

export { EngineBudgetError } from './engine/budget.ts'
export { createEngineCache, type EngineCache } from './engine/cache.ts'
export { analyticMeanLatencyMs } from './engine/fixed-point.ts'
export { ceilingOf, type OfferedLoad, offeredLoads, offeredUtilizations } from './engine/offered.ts'
export { requestPaths } from './engine/paths.ts'
export { type SimulateOptions, simulate } from './engine/result.ts'
export type { Station } from './engine/stations.ts'
export { quantiles } from './engine/statistics.ts'
export { DivergentDesignError, propagate } from './flows.ts'
export type {
  ComponentResult,
  Confidence,
  Interval,
  LinkResult,
  QueueBacklog,
  SimulationResult
} from './schemas.ts'
