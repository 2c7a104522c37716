// What a coach asks after "p95 at peak": how the design behaves as load grows and what breaks
// first, what losing an instance does, how available it is, what it costs, and how many
// instances each component needs. Pure functions over the engine, like it.

import { designAvailability, failingShare, type RequestPaths } from './availability.ts'
import { CATALOGUE, type Catalogue, hasTrait, kindOf } from './components.ts'
import {
  createEngineCache,
  type EngineCache,
  offeredLoads,
  offeredUtilizations,
  propagate,
  requestPaths,
  type SimulationResult,
  simulate
} from './engine.ts'
import { largest, within } from './format.ts'
import { type Component, type Design, LIMITS, MODEL_VERSION, type TrafficProfile } from './model.ts'
import { queueFigures } from './queueing.ts'
import type { Analysis, Crossing, FailureScenario, SizingBinding, Suggestion, SweepPoint } from './schemas.ts'
import { instancesLeft } from './zones.ts'

export { atLeast, availabilityOf, designAvailability, parallel } from './availability.ts'
export type { Analysis, Crossing, FailureScenario, SizingBinding, Suggestion, SweepPoint } from './schemas.ts'
export { SIZING_BINDINGS } from './schemas.ts'

export const HEADROOM = 0.7

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits
const SWEEP_POINTS = 12
const SWEEP_SAMPLES = 1000
const MAX_FAILURE_SCENARIOS = 60
/**
 * Components × scenarios a run's analysis may spend on failure scenarios: a large design gets
 * fewer (its busiest components), so the analysis stays within the run's deadline. Deterministic,
 * unlike a clock: the same design always gets the same scenarios.
 */
const SCENARIO_WORK = 600
const MONTH_SECONDS = 30 * 86400

/** One instance's monthly cost (USD): its own, else its type's. */
export const costOf = (c: Component, catalogue: Catalogue = CATALOGUE) =>
  c.costPerMonth ?? kindOf(catalogue, c.type)?.costPerMonth ?? 0
/** Nodes that cost: `instances` per copy, and a replicated type has 1 + `replicas` copies. */
const nodesOf = (c: Component, catalogue: Catalogue) =>
  hasTrait(catalogue, c.type, 'source')
    ? 0
    : c.instances * (1 + (hasTrait(catalogue, c.type, 'replicated') ? (c.replicas ?? 0) : 0))

/** Runs the engine and the analysis: what the worker stores as a run's result. */
export function simulateAndAnalyze(
  design: Design,
  traffic: TrafficProfile,
  seed: number,
  /** The run's step budget (default LIMITS.engineSteps). */
  maxSteps?: number,
  catalogue: Catalogue = CATALOGUE,
  /** Shared by the run and its what-ifs, and by the caller's runs when it passes one. */
  cache: EngineCache = createEngineCache()
): SimulationResult & { analysis: Analysis; modelVersion: number } {
  const result = simulate(design, traffic, { seed, maxSteps, catalogue, cache })
  return { ...result, analysis: analyze(design, traffic, result, seed, catalogue, cache), modelVersion: MODEL_VERSION }
}

export function analyze(
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult,
  seed = 1,
  catalogue: Catalogue = CATALOGUE,
  cache: EngineCache = createEngineCache()
): Analysis {
  // The what-ifs run many designs: fewer samples each (and fewer for timeouts' estimates).
  const scenarioLimit = Math.min(
    MAX_FAILURE_SCENARIOS,
    Math.max(3, Math.floor(SCENARIO_WORK / design.components.length))
  )
  const sweepSamples = design.components.length > 100 ? SWEEP_SAMPLES / 2 : SWEEP_SAMPLES
  const at = (rps: number, d: Design = design) =>
    simulate(
      d,
      { ...traffic, peakRps: rps },
      {
        seed,
        samples: sweepSamples,
        timeoutSamples: { pass: 400, final: 800 },
        componentPercentiles: false,
        exact: false,
        catalogue,
        cache
      }
    )
  const ceiling = result.overall.maxSustainableRps > 0 ? result.overall.maxSustainableRps : traffic.peakRps
  const top = Math.max(ceiling, traffic.peakRps) * 1.2
  const bottom = Math.min(ceiling, traffic.peakRps) * 0.05

  // The sweep: evenly spaced from a twentieth of the lower of peak and ceiling to past both. A
  // request's sojourn only grows with load, so a percentile that dips between two points is the
  // sampling's noise: each is reported as the largest seen up to its load (an isotonic estimate).
  const sweep: SweepPoint[] = []
  for (let k = 0; k < SWEEP_POINTS; k++) {
    const rps = bottom + ((top - bottom) * k) / (SWEEP_POINTS - 1)
    const r = at(rps)
    const before = sweep.at(-1)
    sweep.push({
      rps: round(rps),
      p50: largest(r.overall.p50, before?.p50 ?? 0),
      p95: largest(r.overall.p95, before?.p95 ?? 0),
      p99: largest(r.overall.p99, before?.p99 ?? 0),
      errorRate: r.overall.errorRate,
      maxUtilization: Math.max(0, ...r.components.map((c) => c.utilization))
    })
  }

  const breaksFirst = crossings(design, traffic, result, catalogue)

  // The SLO's breaking load: bisection between the sweep points that bracket it.
  let sloBreakRps: number | null = null
  const missed = sweep.findIndex((p) => !within(p.p95, traffic.latencySloMs) || p.errorRate > 0)
  if (missed === 0) sloBreakRps = sweep[0].rps
  else if (missed > 0) {
    let lo = sweep[missed - 1].rps
    let hi = sweep[missed].rps
    // Six halvings: the breaking load to within 1/64 of the sweep's step.
    for (let i = 0; i < 6; i++) {
      const mid = (lo + hi) / 2
      const r = at(mid)
      if (!within(r.overall.p95, traffic.latencySloMs) || r.overall.errorRate > 0) hi = mid
      else lo = mid
    }
    sloBreakRps = round(hi)
  }

  // Failure scenarios, busiest components first.
  const busiest = [...result.components].filter((c) => c.arrivalRps > 0).sort((a, b) => b.utilization - a.utilization)
  const paths = requestPaths(design, traffic, catalogue, cache.paths)
  const failures: FailureScenario[] = busiest.slice(0, scenarioLimit).flatMap((r): FailureScenario[] => {
    const c = design.components.find((x) => x.id === r.id) as Component
    if (c.delay) return []
    const lost: FailureScenario['lost'] =
      c.instances === 1 && hasTrait(catalogue, c.type, 'replicated') && (c.replicas ?? 0) > 0 ? 'primary' : 'instance'
    if (c.instances === 1 && lost === 'instance') {
      const failing = failingShare(paths, new Set([c.id]))
      return [{ component: c.id, lost, outage: true, p95: null, errorRate: round(failing, 5), sloHolds: failing === 0 }]
    }
    // One instance fewer; a database's primary lost is a replica promoted (reads over one copy fewer).
    const changed: Component =
      lost === 'primary' ? { ...c, replicas: (c.replicas ?? 0) - 1 } : { ...c, instances: c.instances - 1 }
    const r2 = at(traffic.peakRps, {
      ...design,
      components: design.components.map((x) => (x.id === c.id ? changed : x))
    })
    return [
      {
        component: c.id,
        lost,
        outage: false,
        p95: r2.overall.p95,
        errorRate: r2.overall.errorRate,
        sloHolds: within(r2.overall.p95, traffic.latencySloMs) && r2.overall.errorRate === 0
      }
    ]
  })

  failures.push(...zoneScenarios(design, traffic, at, paths))

  return {
    sweep,
    breaksFirst,
    sloBreakRps,
    failures,
    failuresOmitted: Math.max(0, busiest.length - scenarioLimit),
    availability: designAvailability(design, traffic, paths, catalogue),
    cost: designCost(design, traffic, catalogue),
    ...suggestInstances(design, traffic, at, catalogue)
  }
}

/**
 * Each component's crossings of utilisation 0.7, 0.9 and 1, in the order load reaches them: exact,
 * as the offered utilisation (before anything upstream sheds, unrounded) is linear in load.
 */
export function crossings(
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult,
  catalogue: Catalogue = CATALOGUE
): Crossing[] {
  // Retries at the load the run settled at add load of their own.
  const factor = Float64Array.from(
    design.links,
    (l) => result.links?.find((x) => x.from === l.from && x.to === l.to)?.retryAmplification ?? 1
  )
  return [...offeredUtilizations(offeredLoads(design, traffic, catalogue, factor))]
    .filter(([, u]) => u > 0)
    .flatMap(([component, u]) =>
      [0.7, 0.9, 1].map((x) => ({ component, utilization: x, rps: round((x * traffic.peakRps) / u) }))
    )
    .sort((a, b) => a.rps - b.rps || a.component.localeCompare(b.component))
}

/** Nodes (a database's every copy's) times their monthly cost; per million requests at peak. */
export function designCost(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue = CATALOGUE
): Analysis['cost'] {
  const byComponent = design.components
    .filter((c) => !hasTrait(catalogue, c.type, 'source'))
    .map((c) => ({ component: c.id, perMonth: round(nodesOf(c, catalogue) * costOf(c, catalogue), 2) }))
  const perMonth = round(
    byComponent.reduce((sum, c) => sum + c.perMonth, 0),
    2
  )
  const monthlyRequests = traffic.peakRps * MONTH_SECONDS
  return {
    perMonth,
    perMillionRequests: round(monthlyRequests > 0 ? (perMonth / monthlyRequests) * 1e6 : 0, 4),
    byComponent
  }
}

/** The share of arrivals that may wait for a server at peak (Erlang C: a = 8 Erlangs needs c = 12). */
export const MAX_WAIT_PROBABILITY = 0.2
/** Instances added one at a time, at most this many, while the sized design misses the p95 SLO. */
const SLO_STEPS = 10

/**
 * The smallest instance count for a component at `arrivalRps`: utilisation at most HEADROOM, an
 * arrival waiting with probability at most MAX_WAIT_PROBABILITY (Erlang C, exact for exponential
 * service; the component's own station model otherwise: random balancing, finite queue), still
 * below saturation with one instance lost, and at least 2. Each holds from some n on, so the
 * answer is the largest of the smallest n of each; the waiting one is searched upward from there.
 */
export function requiredInstances(c: Component, arrivalRps: number): { instances: number; binding: SizingBinding } {
  const perInstance = c.concurrency * (1000 / c.serviceTimeMs)
  const bounds: [SizingBinding, number][] = [
    ['headroom', Math.ceil(arrivalRps / (HEADROOM * perInstance) - 1e-12)],
    // With n − 1 left the utilisation must stay below 1: n − 1 > λ / capacity.
    ['one_lost', Math.floor(arrivalRps / perInstance + 1e-12) + 2],
    ['minimum', 2]
  ]
  let [binding, n] = bounds.reduce((best, b) => (b[1] > best[1] ? b : best))
  const waits = (k: number) => {
    const queues = c.balancing === 'random' ? k : 1
    return queueFigures(
      arrivalRps,
      {
        queues,
        servers: (k * c.concurrency) / queues,
        serviceTimeMs: c.serviceTimeMs,
        cv: c.serviceTimeCv ?? 1,
        limit: c.queueLimit === undefined ? null : Math.floor(c.queueLimit / queues)
      },
      false
    ).waitProbability
  }
  while (n < LIMITS.instances && waits(n) > MAX_WAIT_PROBABILITY + 1e-12) {
    n++
    binding = 'waiting'
  }
  return { instances: n, binding }
}

const REASONS: Record<SizingBinding, (n: number) => string> = {
  headroom: (n) => `${n} keeps its utilisation at or under ${HEADROOM * 100}% at peak`,
  waiting: (n) =>
    `${n} keeps the share of requests that wait for a server at or under ${MAX_WAIT_PROBABILITY * 100}% at peak`,
  one_lost: (n) => `${n} still serves the peak with one instance lost`,
  minimum: () => 'two, so that losing one is not an outage',
  slo: (n) => `${n}, so that the design at peak loses no requests and its p95 comes within the SLO`
}

/**
 * The capacity solver: each component sized by `requiredInstances` at the load offered to it
 * (before anything sheds); then, while the design so sized loses requests or misses the p95 SLO
 * at peak, one instance more for the component losing most, else for the one whose waiting adds
 * most to a request's latency (while that is at least 1 % of the SLO) — at most SLO_STEPS times,
 * a greedy step, not a global minimum; `sized` is the last design's p95. A replicated type (a
 * database) is sized only when its primary runs hot; pure delays scale by nothing: they are left out.
 */
export function suggestInstances(
  design: Design,
  traffic: TrafficProfile,
  at?: (rps: number, d: Design) => SimulationResult,
  catalogue: Catalogue = CATALOGUE
): { suggestions: Suggestion[]; sized: Analysis['sized'] } {
  const flows = propagate(design, traffic, undefined, undefined, catalogue)
  const sizes = new Map<string, { instances: number; binding: SizingBinding }>()
  for (const c of design.components) {
    const flow = flows.get(c.id)
    const lambda = flow ? flow.read + flow.write : 0
    if (hasTrait(catalogue, c.type, 'source') || c.delay || lambda <= 0) continue
    if (hasTrait(catalogue, c.type, 'replicated')) {
      // A database is sized when its primary runs hot (issue 38): by instances of each copy, at the
      // primary's load (its writes and its share of the reads); its replicas are its redundancy.
      const primary = (flow?.write ?? 0) + (flow?.read ?? 0) / (1 + (c.replicas ?? 0))
      const need = requiredInstances(c, primary)
      if (primary > HEADROOM * c.instances * c.concurrency * (1000 / c.serviceTimeMs) && need.instances > c.instances)
        sizes.set(c.id, need)
      continue
    }
    sizes.set(c.id, requiredInstances(c, lambda))
  }
  const resized = () => ({
    ...design,
    components: design.components.map((c) => {
      const size = sizes.get(c.id)
      return size ? { ...c, instances: size.instances } : c
    })
  })
  let sized: Analysis['sized'] = null
  if (at) {
    const byId = new Map(design.components.map((c) => [c.id, c]))
    const meets = (r: SimulationResult) => within(r.overall.p95, traffic.latencySloMs) && r.overall.errorRate === 0
    let r = at(traffic.peakRps, resized())
    for (let step = 0; step < SLO_STEPS && !meets(r); step++) {
      // What an instance more can fix: a component losing requests first (its share lost), then
      // the one whose waiting adds most to a request's mean latency, while that is worth a
      // hundredth of the SLO; a p95 set by service times is for a faster service or a cache.
      const fixable = r.components
        .filter((x) => sizes.has(x.id) && x.arrivalRps > 0)
        .map((x) => {
          const c = byId.get(x.id) as Component
          const visits = x.arrivalRps / traffic.peakRps
          const waiting = x.meanLatencyMs === null ? Number.POSITIVE_INFINITY : x.meanLatencyMs - c.serviceTimeMs
          return { id: x.id, lost: x.lossRate * visits, waiting: waiting * visits }
        })
        .filter((x) => x.lost > 0 || x.waiting >= 0.01 * traffic.latencySloMs)
        .sort((a, b) => b.lost - a.lost || b.waiting - a.waiting)
      const size = fixable.length > 0 ? sizes.get(fixable[0].id) : undefined
      if (!size || size.instances >= LIMITS.instances) break
      sizes.set(fixable[0].id, { instances: size.instances + 1, binding: 'slo' })
      r = at(traffic.peakRps, resized())
    }
    sized = { p95: r.overall.p95, errorRate: r.overall.errorRate, sloHolds: meets(r) }
  }
  const suggestions = design.components.flatMap((c): Suggestion[] => {
    const size = sizes.get(c.id)
    if (!size || size.instances === c.instances) return []
    return [
      {
        component: c.id,
        instances: c.instances,
        suggested: size.instances,
        costDeltaPerMonth: round((size.instances - c.instances) * costOf(c, catalogue), 2),
        binding: size.binding,
        reason:
          size.instances > c.instances
            ? REASONS[size.binding](size.instances)
            : `${REASONS[size.binding](size.instances)}: ${c.instances} is more than it needs`
      }
    ]
  })
  return { suggestions, sized }
}

/**
 * A whole zone lost: each component loses the instances placed there (round robin over its
 * zones); one left with none is down, and the requests that meet it fail.
 */
function zoneScenarios(
  design: Design,
  traffic: TrafficProfile,
  at: (rps: number, d: Design) => SimulationResult,
  paths: RequestPaths
): FailureScenario[] {
  const zones = [...new Set(design.components.flatMap((c) => c.zones ?? []))].sort()
  return zones.map((zone) => {
    const down = new Set<string>()
    const components = design.components.map((c) => {
      if (!c.zones?.includes(zone)) return c
      const left = instancesLeft(c, zone)
      if (left === 0) down.add(c.id)
      return { ...c, instances: Math.max(1, left) }
    })
    // The share of requests that meet a component that is down: they fail.
    const failing = failingShare(paths, down)
    if (failing >= 1 - 1e-12)
      return { component: `zone:${zone}`, lost: 'zone', outage: true, p95: null, errorRate: 1, sloHolds: false }
    const r = at(traffic.peakRps, { ...design, components })
    const errorRate = round(1 - (1 - failing) * (1 - r.overall.errorRate), 5)
    return {
      component: `zone:${zone}`,
      lost: 'zone',
      outage: down.size > 0,
      p95: r.overall.p95,
      errorRate,
      sloHolds: errorRate === 0 && within(r.overall.p95, traffic.latencySloMs)
    }
  })
}
