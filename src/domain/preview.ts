import { crossings, designAvailability, designCost } from './analysis.ts'
import { CATALOGUE, type Catalogue } from './components.ts'
import { createEngineCache, type EngineCache, requestPaths, simulate } from './engine.ts'
import { linkRates } from './flows.ts'
import type { Design, TrafficProfile } from './model.ts'
import type { DesignPreview } from './schemas.ts'

/** Monte-Carlo paths of a preview, and traversals per link with a timeout (a tenth of a run's). */
export const PREVIEW_SAMPLES = 2000
const PREVIEW_TIMEOUT_SAMPLES = { pass: 400, final: 800 }

/**
 * Quick feedback while editing, without a job: the analytic figures of a valid design, what
 * breaks first, availability, cost and each link's request rate. `maxSteps` is the preview's own engine budget: past it,
 * EngineBudgetError (too large to preview; a run has a larger budget).
 */
export function previewDesign(
  design: Design,
  traffic: TrafficProfile,
  maxSteps: number,
  catalogue: Catalogue = CATALOGUE,
  cache: EngineCache = createEngineCache()
): DesignPreview {
  const result = simulate(design, traffic, {
    seed: 1,
    samples: PREVIEW_SAMPLES,
    timeoutSamples: PREVIEW_TIMEOUT_SAMPLES,
    maxSteps,
    catalogue,
    cache
  })
  return {
    overall: result.overall,
    components: result.components,
    breaksFirst: crossings(design, traffic, result, catalogue).slice(0, 6),
    availability: designAvailability(design, traffic, requestPaths(design, traffic, catalogue, cache.paths), catalogue),
    cost: designCost(design, traffic, catalogue),
    links: linkRates(design, traffic, catalogue)
  }
}

export type { DesignPreview } from './schemas.ts'
