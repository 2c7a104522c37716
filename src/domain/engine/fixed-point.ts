import { CATALOGUE, type Catalogue } from '../components.ts'
import { type Flow, propagate } from '../flows.ts'
import { type Design, LIMITS, type TrafficProfile } from '../model.ts'
import type { QuantileDraws } from '../queueing.ts'
import { type Built, buildStations, keptShares, type TimeoutFigures } from './stations.ts'
import { sampleTimeouts, timeoutSampling } from './timeouts.ts'

// The arrival-rate fixed point: the rates that reach each station once losses and retries count.

/**
 * Traversals drawn per link with a timeout: fewer on the passes that seek the load (the same
 * draws each pass, so f moves with the load alone), more for the tables the run draws from.
 */
const TIMEOUT_SAMPLES = { pass: 2000, final: 4000 }

/**
 * The stations at the load that actually reaches them. What a station loses (a full queue, a
 * saturated one's excess) does not go on to the stations after it; a link with a timeout sends
 * (1 − f^(R+1)) / (1 − f) attempts per traversal, where f, the share of attempts that take longer
 * than the timeout, is sampled at the load those attempts make. Each pass recomputes the traffic
 * with every component's kept share and every link's attempts; an acyclic design without
 * timeouts settles in as many passes as it is deep, the rest at their fixed point.
 */
export function solveStations(
  design: Design,
  traffic: TrafficProfile,
  seed = 1,
  samples = TIMEOUT_SAMPLES,
  percentiles = true,
  maxSteps: number = LIMITS.engineSteps,
  catalogue: Catalogue = CATALOGUE,
  draws?: QuantileDraws
): Built & { flows: Map<string, Flow>; steps: number } {
  let flows = propagate(design, traffic, undefined, undefined, catalogue)
  let built = buildStations(design, catalogue, flows, traffic, undefined, undefined, false)
  const timed = design.links.some((l) => l.timeoutMs !== undefined)
  if (!timed && !built.stations.some((s) => s.loss > 0))
    return {
      ...buildStations(design, catalogue, flows, traffic, undefined, undefined, percentiles, draws),
      flows,
      steps: 0
    }
  const index = new Map(design.components.map((c, i) => [c.id, i]))
  let factor = new Float64Array(design.links.length).fill(1)
  let timeouts: (TimeoutFigures | null)[] = design.links.map(() => null)
  const sampling = timed ? timeoutSampling(design, built, traffic) : null
  if (sampling) sampling.walker.limit = maxSteps
  for (let pass = 0; pass < (timed ? 40 : 200); pass++) {
    const keep = keptShares(design, built, index)
    let factorMoved = 0
    if (sampling) {
      timeouts = sampleTimeouts(sampling, built, flows, keep, traffic, seed, samples.pass, false)
      const next = Float64Array.from(timeouts.map((t, j) => (t ? t.amplification : factor[j])))
      // Most of a step each pass: a full step can overshoot near saturation and oscillate.
      for (let j = 0; j < next.length; j++) {
        const damped = 0.3 * factor[j] + 0.7 * next[j]
        factorMoved = Math.max(factorMoved, Math.abs(damped - factor[j]))
        next[j] = damped
      }
      factor = next
    }
    flows = propagate(design, traffic, keep, factor, catalogue)
    const next = buildStations(design, catalogue, flows, traffic, keep, timeouts, false)
    let moved = 0
    for (const s of next.stations) moved = Math.max(moved, Math.abs(s.lambda - built.stations[s.index].lambda))
    built = next
    // Without timeouts the rates settle exactly; with them, to well within the sampled f's noise.
    if (moved <= (timed ? 1e-3 : 1e-12) * Math.max(1, traffic.peakRps) && factorMoved < 1e-3) break
  }
  const keep = keptShares(design, built, index)
  // The tables the run draws from, sampled at the load the design settled at.
  if (sampling) timeouts = sampleTimeouts(sampling, built, flows, keep, traffic, seed, samples.final, percentiles)
  return {
    ...buildStations(design, catalogue, flows, traffic, keep, timeouts, percentiles, draws),
    flows,
    steps: sampling?.walker.steps ?? 0
  }
}

/** The analytic mean end-to-end latency: Σ over stations of visits per request × mean sojourn. */
export function analyticMeanLatencyMs(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue = CATALOGUE
): number {
  const { stations } = solveStations(design, traffic, undefined, undefined, undefined, undefined, catalogue)
  return stations.reduce((sum, s) => sum + (s.lambda / traffic.peakRps) * s.meanSojournMs, 0)
}
