import { crossings, designAvailability, designCost } from './analysis.ts'
import { componentsOf, failingRoutes, failingShare } from './availability.ts'
import { CATALOGUE, type Catalogue } from './components.ts'
import { createEngineCache, type EngineCache, requestPaths, simulate } from './engine.ts'
import { linkRates } from './flows.ts'
import type { Design, TrafficProfile } from './model.ts'
import type { DesignPreview } from './schemas.ts'

/** Monte-Carlo paths of a preview, and traversals per link with a timeout (a tenth of a run's). */
export const PREVIEW_SAMPLES = 2000
const PREVIEW_TIMEOUT_SAMPLES = { pass: 400, final: 800 }
/** The failing routes a preview lists (the largest shares). */
const FAILING_ROUTES = 12

const round = (x: number, digits = 5) => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Quick feedback while editing, without a job: the analytic figures of a valid design, what
 * breaks first, availability, cost and each link's request rate. `maxSteps` is the preview's own engine budget: past it,
 * EngineBudgetError (too large to preview; a run has a larger budget). `down` are components a
 * what-if left with nothing (their only instance, a zone lost): the requests that meet them fail,
 * as in the analysis's failure scenarios; the figures say so (`outage`).
 */
export function previewDesign(
  design: Design,
  traffic: TrafficProfile,
  maxSteps: number,
  catalogue: Catalogue = CATALOGUE,
  cache: EngineCache = createEngineCache(),
  down: readonly string[] = []
): DesignPreview {
  const result = simulate(design, traffic, {
    seed: 1,
    samples: PREVIEW_SAMPLES,
    timeoutSamples: PREVIEW_TIMEOUT_SAMPLES,
    maxSteps,
    catalogue,
    cache
  })
  const paths = requestPaths(design, traffic, catalogue, cache.paths)
  const preview: DesignPreview = {
    overall: result.overall,
    components: result.components,
    breaksFirst: crossings(design, traffic, result, catalogue).slice(0, 6),
    availability: designAvailability(design, traffic, paths, catalogue),
    cost: designCost(design, traffic, catalogue),
    links: linkRates(design, traffic, catalogue)
  }
  if (down.length === 0) return preview
  // What is down fails the requests that meet it; the rest are served as the engine says (the
  // analysis's zone scenario combines them so: 1 − (1 − failing)(1 − lost by the rest)).
  const lost = new Set(down)
  const failing = failingShare(paths, lost)
  const routes = failingRoutes(paths, lost)
  const served = paths?.filter((p) => ![...componentsOf(p)].some((id) => lost.has(id)))
  return {
    ...preview,
    overall: {
      ...result.overall,
      errorRate: failing >= 1 - 1e-12 ? 1 : round(1 - (1 - failing) * (1 - result.overall.errorRate)),
      throughputRps: round(result.overall.throughputRps * (1 - failing), 3)
    },
    // A route through a component that is down is never up.
    availability: designAvailability(design, traffic, served ?? [], catalogue),
    outage: {
      down: [...lost],
      failingShare: round(failing),
      routes: (routes ?? []).slice(0, FAILING_ROUTES).map((r) => ({ components: r.components, share: round(r.share) })),
      routesOmitted: routes ? Math.max(0, routes.length - FAILING_ROUTES) : null
    }
  }
}

export type { DesignPreview } from './schemas.ts'
