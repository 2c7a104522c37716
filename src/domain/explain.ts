// The working behind a run's numbers (issue 38): recomputed on demand from what the run stored
// (design, traffic profile, seed), since a run is deterministic with its seed. A component's
// derivation walks its stations: λ and where it came from, μ, c, ρ, the waiting probability and
// how it was computed, the mean wait and sojourn, how the p95 was obtained. The overall one gives
// the request paths and their weights, how the percentiles were drawn, and the station that sets
// the ceiling. Every step carries its value, so a reader (and a test) can redo the arithmetic.
import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import { solveStations } from './engine/fixed-point.ts'
import { retryFactors } from './engine/result.ts'
import { copyLoads, type Station } from './engine/stations.ts'
import { createEngineCache, offeredLoads, requestPaths } from './engine.ts'
import type { ComponentDerivation, OverallDerivation, StationDerivation, Step } from './explain-schemas.ts'
import { carries, type Flow, passFactor, propagate } from './flows.ts'
import { mdcWait } from './mdc.ts'
import type { Design, TrafficProfile } from './model.ts'
import type { SimulationResult } from './schemas.ts'

export type { ComponentDerivation, Derivation, OverallDerivation } from './explain-schemas.ts'

/** What to explain: a component's figures, or the overall ones (which read the run's stored overall figures). */
export type ExplainSubject =
  | { component: string }
  | { figure: 'overall'; result: Pick<SimulationResult, 'mode' | 'samples' | 'seed' | 'overall'> }

/** A derivation of a run's figure; null when the design has no such component. */
export function explain(
  design: Design,
  traffic: TrafficProfile,
  seed: number,
  subject: ExplainSubject,
  catalogue: Catalogue = CATALOGUE,
  maxSteps?: number
): ComponentDerivation | OverallDerivation | null {
  return 'component' in subject
    ? explainComponent(design, traffic, seed, subject.component, catalogue, maxSteps)
    : explainOverall(design, traffic, subject.result, catalogue, maxSteps)
}

/** Draws per sampled station quantile (src/domain/queueing.ts). */
export const QUANTILE_DRAWS = 4000

const r6 = (x: number) => Math.round(x * 1e6) / 1e6
/** A sum over stations, null when one is unbounded (saturated). */
const finite = (x: number) => (Number.isFinite(x) ? r6(x) : null)

/** Where a component's offered arrivals come from: each link into it, per class, share × what its source passes on. */
function sources(design: Design, flows: Map<string, Flow>, id: string, catalogue: Catalogue) {
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const terms: { label: string; read: number; write: number }[] = []
  for (const l of design.links) {
    if (l.to !== id) continue
    const from = byId.get(l.from)
    const f = flows.get(l.from)
    if (!from || !f) continue
    const share = l.share ?? 1
    const traffic = l.traffic ?? 'both'
    const read = carries(traffic, 'read') ? share * passFactor(from, 'read', catalogue) * f.read : 0
    const write = carries(traffic, 'write') ? share * f.write : 0
    const absorbed =
      hasTrait(catalogue, from.type, 'absorbsReads') && read > 0
        ? `, the misses of its ${from.hitRatio ?? 0} hit ratio`
        : ''
    terms.push({ label: `from ${l.from} (share ${share}${absorbed})`, read, write })
  }
  if (hasTrait(catalogue, byId.get(id)?.type ?? '', 'source') || terms.length === 0) return []
  return terms
}

function stationSteps(s: Station, lambdaTerms: Step['terms'], offered: number): StationDerivation {
  const steps: Step[] = []
  steps.push({
    symbol: 'λ₀',
    label: 'arrivals offered',
    value: r6(offered),
    unit: 'rps',
    formula: 'Σ over the links into it: share × what the source passes on (a cache passes its misses)',
    terms: lambdaTerms
  })
  steps.push({
    symbol: 'λ',
    label: 'arrivals that reach it',
    value: r6(s.lambda),
    unit: 'rps',
    formula:
      Math.abs(s.lambda - offered) > 1e-9 * Math.max(1, offered)
        ? 'λ₀ less what stations before it lose, plus retries after timeouts (the fixed point)'
        : 'λ₀ (nothing before it sheds or retries)'
  })
  const name = s.name === s.componentId || s.kind !== 'queue' ? s.name : `${s.componentId}:${s.name}`
  if (s.kind !== 'queue') {
    steps.push({
      symbol: 'S',
      label: 'service time',
      value: s.serviceTimeMs,
      unit: 'ms',
      formula: 'as the design states'
    })
    steps.push({
      symbol: 'W',
      label: 'mean sojourn',
      value: r6(s.meanSojournMs),
      unit: 'ms',
      formula: 'W = S: a pure delay, nothing queues'
    })
    return {
      station: name,
      kind: s.kind,
      steps,
      waitMethod: 'none',
      p95Method: s.serviceTimeCv === 0 ? 'constant' : s.serviceTimeCv === 1 ? 'exact' : 'sampled',
      ...(s.serviceTimeCv !== 0 && s.serviceTimeCv !== 1 ? { p95Samples: QUANTILE_DRAWS } : {})
    }
  }
  const mu = 1000 / s.serviceTimeMs
  const c = s.servers / s.queues
  const perQueue = s.lambda / s.queues
  const a = perQueue / mu
  // M/D/c's wait (its mean and p95) is exact where its transform is within budget (queueing.ts asks the same).
  const mdc =
    s.arrivalCv === 1 &&
    s.serviceTimeCv === 0 &&
    s.queueLimit === null &&
    c > 1 &&
    !s.saturated &&
    mdcWait(a, c) !== null
  steps.push({
    symbol: 'S',
    label: 'mean service time',
    value: s.serviceTimeMs,
    unit: 'ms',
    formula: 'as the design states'
  })
  steps.push({
    symbol: 'q',
    label: 'queues',
    value: s.queues,
    formula: s.queues > 1 ? 'one per instance (random balancing)' : 'one pooled queue'
  })
  steps.push({ symbol: 'μ', label: 'service rate of one server', value: r6(mu), unit: '/s', formula: 'μ = 1000 / S' })
  steps.push({
    symbol: 'c',
    label:
      s.queues > 1 ? `servers per queue (${s.queues} queues, random balancing)` : 'servers (instances × concurrency)',
    value: c,
    formula: s.queues > 1 ? 'c = concurrency (one queue per instance)' : 'c = instances × concurrency'
  })
  steps.push({
    symbol: 'a',
    label: 'offered load per queue',
    value: r6(a),
    unit: 'Erlangs',
    formula: 'a = (λ / q) / μ'
  })
  steps.push({ symbol: 'ρ', label: 'utilisation', value: r6(a / c), formula: 'ρ = a / c' })
  const variability = (s.arrivalCv ** 2 + s.serviceTimeCv ** 2) / 2
  steps.push({
    symbol: 'k',
    label: 'variability factor',
    value: r6(variability),
    formula: `k = (c_a² + CV²) / 2 with the arrivals' c_a ${s.arrivalCv} (1: Poisson) and the service's CV ${s.serviceTimeCv} (1: exponential, 0: constant)`
  })
  let waitMethod: StationDerivation['waitMethod']
  if (s.saturated) {
    waitMethod = 'saturated'
    steps.push({
      symbol: 'W',
      label: 'mean sojourn',
      value: Number.isFinite(s.meanSojournMs) ? r6(s.meanSojournMs) : null,
      unit: 'ms',
      formula: 'ρ ≥ 1: no steady state; the queue grows by λ − cμ a second and its excess is shed'
    })
  } else {
    waitMethod = s.queueLimit === null ? 'erlang_c' : s.queueLimit === 0 ? 'erlang_b' : 'finite_queue'
    steps.push({
      symbol: 'Pw',
      label: 'probability an arrival waits',
      value: r6(s.waitProbability),
      formula:
        waitMethod === 'erlang_c'
          ? 'Erlang C(c, a)'
          : waitMethod === 'erlang_b'
            ? 'no waiting places: nobody waits (Erlang B(c, a) of arrivals are lost)'
            : `M/M/c/K with ${s.queueLimit} waiting places (exact, geometric sums)`
    })
    if (s.loss > 0)
      steps.push({ symbol: 'L', label: 'share of arrivals lost', value: r6(s.loss), formula: 'all places taken' })
    const wq = s.meanSojournMs - s.serviceTimeMs
    steps.push({
      symbol: 'Wq',
      label: 'mean wait',
      value: r6(wq),
      unit: 'ms',
      formula: mdc
        ? 'Wq = E[M] / (λ/q) × 1000, M the number waiting (M/D/c, exact: its law from the roots of z^c = e^(a(z − 1)), Crommelin; Little’s law)'
        : waitMethod === 'erlang_c'
          ? `Wq = Pw / (cμ − λ/q) × k × 1000${s.arrivalCv !== 1 ? ' (Allen–Cunneen)' : s.serviceTimeCv === 1 ? ' (CV 1: exact M/M/c)' : s.servers / s.queues === 1 ? ' (Pollaczek–Khinchine, exact)' : ' (Allen–Cunneen)'}`
          : 'the admitted arrivals’ mean wait of M/M/c/K × k'
    })
    steps.push({ symbol: 'W', label: 'mean sojourn', value: r6(s.meanSojournMs), unit: 'ms', formula: 'W = Wq + S' })
  }
  const poisson = s.arrivalCv === 1
  const exponential = s.serviceTimeCv === 1
  const mg1 = poisson && !exponential && s.queueLimit === null && s.servers / s.queues === 1
  const method: StationDerivation['p95Method'] = s.saturated
    ? 'saturated'
    : exponential
      ? poisson
        ? 'exact'
        : 'approximate'
      : mg1 || mdc
        ? 'exact'
        : 'sampled'
  steps.push({
    symbol: 'p95',
    label: 'p95 sojourn',
    value: Number.isFinite(s.p95SojournMs) ? r6(s.p95SojournMs) : null,
    unit: 'ms',
    formula: s.saturated
      ? 'saturated: the wait is not bounded'
      : exponential
        ? poisson
          ? 'exact: P(W > t) = 0.05 solved by bisection on the M/M/c sojourn tail (1 − Pw)e^(−μt) + Pw·(θe^(−μt) − μe^(−θt))/(θ − μ), θ = cμ − λ'
          : 'approximate: the M/M/c sojourn tail with an exponential wait of the Allen–Cunneen mean (bursty arrivals)'
        : mg1
          ? 'exact: M/G/1, the Pollaczek–Khinchine transform of the sojourn inverted (Abate–Whitt; Erlang’s formula for M/D/1)'
          : mdc
            ? 'exact: M/D/c, the number waiting from the roots of z^c = e^(a(z − 1)) (Crommelin), the wait by Franx’s formula'
            : `sampled: the 95th percentile of ${QUANTILE_DRAWS} draws of service (CV ${s.serviceTimeCv}) plus, with probability Pw, an exponential wait`
  })
  return {
    station: name,
    kind: s.kind,
    steps,
    waitMethod,
    p95Method: method,
    ...(method === 'sampled' ? { p95Samples: QUANTILE_DRAWS } : {})
  }
}

/** A component's derivation, from the run's design, profile and seed. Null when the design has no such component (or it is a client). */
export function explainComponent(
  design: Design,
  traffic: TrafficProfile,
  seed: number,
  id: string,
  catalogue: Catalogue = CATALOGUE,
  /** The step budget of the recomputation (the timeouts' traversals); past it, EngineBudgetError. */
  maxSteps?: number
): ComponentDerivation | null {
  const component = design.components.find((c) => c.id === id)
  if (!component || hasTrait(catalogue, component.type, 'source')) return null
  const built = solveStations(design, traffic, seed, undefined, true, maxSteps, catalogue, createEngineCache().draws)
  const nodes = built.byComponent.get(id) ?? []
  const offeredFlows = propagate(design, traffic, undefined, undefined, catalogue)
  const terms = sources(design, offeredFlows, id, catalogue)
  const flow = offeredFlows.get(id) ?? { read: 0, write: 0 }
  const copies = copyLoads(component, flow, catalogue)
  const copiesCount = copies.length
  const stations = nodes.map((s, k) => {
    const offered = copies[k]?.lambda ?? 0
    // A database's copy: the primary takes the writes and its share of the reads, a replica its share.
    const copyTerms = terms.flatMap((t) => {
      const read = t.read / copiesCount
      const write = s.name === 'primary' || copiesCount === 1 ? t.write : 0
      const out: { label: string; value: number }[] = []
      if (read > 0)
        out.push({ label: `${t.label}: reads${copiesCount > 1 ? ` ÷ ${copiesCount} copies` : ''}`, value: r6(read) })
      if (write > 0) out.push({ label: `${t.label}: writes`, value: r6(write) })
      return out
    })
    return stationSteps(s, copyTerms, offered)
  })
  const lambda = nodes.reduce((sum, s) => sum + s.lambda, 0)
  const saturated = nodes.some((s) => s.saturated)
  const mean =
    lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.meanSojournMs, 0) / lambda : (nodes[0]?.meanSojournMs ?? 0)
  return {
    kind: 'component',
    component: id,
    stations,
    arrivalRps: r6(lambda),
    meanLatencyMs: saturated || !Number.isFinite(mean) ? null : r6(mean),
    p95LatencyMs: saturated ? null : r6(Math.max(...nodes.map((s) => s.p95SojournMs))),
    utilization: r6(Math.max(0, ...nodes.map((s) => s.utilization)))
  }
}

/** The end-to-end figures' derivation: paths and weights, how the percentiles were drawn, the ceiling. */
export function explainOverall(
  design: Design,
  traffic: TrafficProfile,
  result: Pick<SimulationResult, 'mode' | 'samples' | 'seed' | 'overall'>,
  catalogue: Catalogue = CATALOGUE,
  maxSteps?: number
): OverallDerivation {
  const built = solveStations(design, traffic, result.seed, undefined, false, maxSteps, catalogue)
  const name = (s: Station) =>
    s.name === s.componentId || s.kind === 'link' || s.kind === 'timeout' ? s.name : `${s.componentId}:${s.name}`
  const sojourn = new Map(built.stations.map((s) => [name(s), s.meanSojournMs]))
  const paths = requestPaths(design, traffic, catalogue)?.map((p) => ({
    stations: p.stations,
    probability: r6(p.probability),
    meanMs: finite(p.stations.reduce((sum, s) => sum + (sojourn.get(s) ?? 0), 0))
  }))
  const analytic = built.stations.reduce((sum, s) => sum + (s.lambda / traffic.peakRps) * s.meanSojournMs, 0)
  const loads = offeredLoads(design, traffic, catalogue, retryFactors(built.timeouts))
  const steps = loads
    .filter((s) => s.lambda > 0)
    .map((s) => {
      const copies = loads.filter((x) => x.componentId === s.componentId)
      const station =
        copies.length > 1
          ? `${s.componentId}:${copies.indexOf(s) === 0 ? 'primary' : `replica-${copies.indexOf(s)}`}`
          : s.componentId
      return {
        station,
        capacityRps: r6(s.capacity),
        visitRatio: r6(s.lambda / traffic.peakRps),
        ceilingRps: r6(s.capacity / (s.lambda / traffic.peakRps))
      }
    })
    .sort((x, y) => x.ceilingRps - y.ceilingRps)
  return {
    kind: 'overall',
    paths: paths ?? null,
    analyticMeanMs: finite(analytic),
    percentiles: {
      method:
        result.mode === 'discrete-event'
          ? 'discrete_event'
          : result.overall.percentiles === 'exact'
            ? 'exact'
            : 'monte_carlo',
      samples: result.samples,
      seed: result.seed,
      p50: result.overall.p50,
      p95: result.overall.p95,
      p99: result.overall.p99
    },
    ceiling: {
      steps,
      bottleneck: result.overall.bottleneck,
      maxSustainableRps: result.overall.maxSustainableRps
    }
  }
}
