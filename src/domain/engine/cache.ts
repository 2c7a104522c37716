import { createQuantileDraws, type QuantileDraws } from '../queueing.ts'
import type { PathClass } from './paths.ts'

// What a caller keeps between runs: the engine keeps nothing between calls itself.

/**
 * What runs of the same structure can reuse (an analysis runs one design many times): owned by
 * the caller, one per run unless it passes its own. Neither answer depends on the load.
 */
export interface EngineCache {
  /** Enumerated paths by walker structure, most recently used last. */
  paths: Map<string, PathClass[] | null>
  /** The sampled quantiles' unit draws, by CV. */
  draws: QuantileDraws
}

export function createEngineCache(): EngineCache {
  return { paths: new Map(), draws: createQuantileDraws() }
}
