import { type Catalogue, hasTrait } from '../components.ts'
import { type Flow, propagate } from '../flows.ts'
import type { Design, TrafficProfile } from '../model.ts'
import { copyLoads } from './stations.ts'

// The load offered to each station before anything upstream sheds it: what sets the ceiling, the
// bottleneck and the load at which each component crosses a utilisation. A station that sheds
// hides the load behind it, so the rates that actually arrive cannot answer these.

/** A station with servers at the offered load: its arrivals (rps) and its capacity (rps). */
export interface OfferedLoad {
  componentId: string
  lambda: number
  capacity: number
}

/** Per station with servers (delays never queue): the offered rate and the capacity. */
export function offeredLoads(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue,
  /** Per link: attempts per traversal where timeouts retry (the load they add is offered too). */
  linkFactor?: Float64Array
): OfferedLoad[] {
  const flows = propagate(design, traffic, undefined, linkFactor, catalogue)
  const out: OfferedLoad[] = []
  for (const c of design.components) {
    if (hasTrait(catalogue, c.type, 'source') || c.delay === true) continue
    const capacity = c.instances * c.concurrency * (1000 / c.serviceTimeMs)
    for (const node of copyLoads(c, flows.get(c.id) as Flow, catalogue))
      out.push({ componentId: c.id, lambda: node.lambda, capacity })
  }
  return out
}

/**
 * The bottleneck (the station with the highest offered utilisation) and the maximum sustainable
 * throughput: offered rates are linear in the peak, so the ceiling is the least, over stations,
 * of capacity ÷ (offered rate per request).
 */
export function ceilingOf(
  loads: readonly OfferedLoad[],
  peakRps: number
): { bottleneck: string | null; maxSustainableRps: number } {
  let bottleneck: OfferedLoad | null = null
  let ceiling = Number.POSITIVE_INFINITY
  for (const s of loads) {
    if (s.lambda <= 0) continue
    if (bottleneck === null || s.lambda / s.capacity > bottleneck.lambda / bottleneck.capacity) bottleneck = s
    ceiling = Math.min(ceiling, s.capacity / (s.lambda / peakRps))
  }
  return {
    bottleneck: bottleneck?.componentId ?? null,
    maxSustainableRps: peakRps > 0 && Number.isFinite(ceiling) ? ceiling : 0
  }
}

/** Per component: its busiest copy's offered utilisation, unrounded (0 when nothing reaches it). */
export function offeredUtilizations(loads: readonly OfferedLoad[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const s of loads) out.set(s.componentId, Math.max(out.get(s.componentId) ?? 0, s.lambda / s.capacity))
  return out
}
