import { CATALOGUE, type Catalogue, hasTrait } from '../components.ts'
import type { Flow } from '../flows.ts'
import { type Design, LIMITS, type TrafficProfile } from '../model.ts'
import { createWords } from '../random.ts'
import type { ComponentResult, Confidence, LinkResult, QueueBacklog, SimulationResult } from '../schemas.ts'
import { createEngineCache, type EngineCache } from './cache.ts'
import { discreteEvent } from './discrete-event.ts'
import { exactLatency } from './exact.ts'
import { solveStations } from './fixed-point.ts'
import { monteCarlo, pathFigures } from './monte-carlo.ts'
import { ceilingOf, offeredLoads } from './offered.ts'
import { knownPaths } from './paths.ts'
import { compileSojourns } from './sojourns.ts'
import type { Station, TimeoutFigures } from './stations.ts'
import { quantiles, round } from './statistics.ts'
import { compileWalker } from './walker.ts'

// simulate(): a design and a traffic profile in, the run's figures out.

export interface SimulateOptions {
  seed?: number
  /** Monte-Carlo paths (analytic mode) or simulated requests (discrete-event mode). */
  samples?: number
  mode?: 'analytic' | 'discrete-event'
  /** Discrete-event mode: send a randomly balanced component's arrivals round robin instead (for comparison). */
  roundRobin?: boolean
  /** Discrete-event mode: independent replications the samples are split over (default 10; 1 is one run, no interval). */
  replications?: number
  /** Traversals sampled per link with a timeout, while seeking the load and for the run's tables (default 2000 and 4000). */
  timeoutSamples?: { pass: number; final: number }
  /**
   * False: each component's p95 is left out (NaN), which spares sampling the sojourn of every
   * station whose service is neither exponential nor constant. For what-ifs that read only the
   * overall figures and utilisations.
   */
  componentPercentiles?: boolean
  /**
   * Sampler and event steps the whole run may take, timeouts' traversals included (default
   * LIMITS.engineSteps); past it the run throws EngineBudgetError.
   */
  maxSteps?: number
  /**
   * False: the analytic mode draws the end-to-end percentiles even where it could compose them
   * exactly. For what-ifs that run many designs at a thousand paths: the lattice costs about what
   * ten thousand drawn paths do.
   */
  exact?: boolean
  /** The component types the design is read with (default CATALOGUE). */
  catalogue?: Catalogue
  /** What runs of the same structure reuse (default: a new one, for this run only). */
  cache?: EngineCache
}

/** Simulates a valid design under a traffic profile. */
export function simulate(design: Design, traffic: TrafficProfile, options: SimulateOptions = {}): SimulationResult {
  const seed = options.seed ?? 1
  const mode = options.mode ?? 'analytic'
  const samples = options.samples ?? (mode === 'analytic' ? 20_000 : 50_000)
  const maxSteps = options.maxSteps ?? LIMITS.engineSteps
  const catalogue = options.catalogue ?? CATALOGUE
  const cache = options.cache ?? createEngineCache()
  const built = solveStations(
    design,
    traffic,
    seed,
    options.timeoutSamples,
    options.componentPercentiles ?? true,
    maxSteps,
    catalogue,
    cache.draws
  )
  const { stations, byComponent, flows } = built
  const walker = compileWalker(design, built, traffic)
  // The timeouts' traversals count against the same budget as the requests.
  walker.steps = built.steps
  walker.limit = maxSteps
  let figures: EndToEnd
  let confidence: Confidence | undefined
  if (mode === 'discrete-event') {
    const des = discreteEvent(walker, stations, traffic, seed, samples, options)
    confidence = des.confidence
    figures = sampledFigures(des.latencies, des.errorRate, undefined)
  } else {
    const exact = options.exact === false ? null : exactLatency(walker, stations)
    if (exact && walker.steps + exact.ops * OP_STEPS <= maxSteps) {
      const f = compileSojourns(stations, built.tables)
      const classes = knownPaths(walker, cache.paths)
      // Enumerated paths give the error rate and the mean exactly by linearity; the lattice otherwise.
      const known = classes ? pathFigures(classes, built, f) : undefined
      const errorRate = known ? known.errorRate : 1 - exact.kept
      const empty = exact.kept <= 0
      figures = {
        p50: empty ? 0 : exact.quantile(0.5),
        p95: empty ? 0 : exact.quantile(0.95),
        p99: empty ? 0 : exact.quantile(0.99),
        mean: empty
          ? 0
          : exact.unboundedShare > 0
            ? Number.POSITIVE_INFINITY
            : known?.meanMs !== undefined && Number.isFinite(known.meanMs)
              ? known.meanMs
              : exact.meanMs,
        errorRate,
        unboundedShare: exact.unboundedShare,
        percentiles: 'exact'
      }
    } else {
      const mc = monteCarlo(walker, built, samples, createWords(seed), cache.paths)
      figures = { ...sampledFigures(mc.latencies, mc.errorRate, mc.meanMs), percentiles: 'monte-carlo' }
    }
  }
  const { p50, p95, p99, mean, errorRate } = figures
  let queueGrowthRps = 0
  for (const s of stations) if (s.saturated) queueGrowthRps += s.lambda - capacityOf(s)

  const components: ComponentResult[] = design.components
    .filter((c) => !hasTrait(catalogue, c.type, 'source'))
    .map((c) => {
      const nodes = byComponent.get(c.id) as Station[]
      const lambda = nodes.reduce((sum, s) => sum + s.lambda, 0)
      const busiest = nodes.reduce((a, b) => (b.utilization > a.utilization ? b : a))
      const meanLatency =
        lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.meanSojournMs, 0) / lambda : busiest.meanSojournMs
      const saturated = nodes.filter((s) => s.saturated)
      return {
        id: c.id,
        type: c.type,
        arrivalRps: round(lambda),
        utilization: round(busiest.utilization, 4),
        meanLatencyMs: latency(meanLatency),
        p95LatencyMs:
          options.componentPercentiles === false && saturated.length === 0
            ? Number.NaN
            : latency(Math.max(...nodes.map((s) => s.p95SojournMs))),
        saturated: saturated.length > 0,
        ...(saturated.length > 0 ? { unbounded: true as const, overload: overloadOf(nodes) } : {}),
        lossRate: round(lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.loss, 0) / lambda : 0, 5),
        ...(hasTrait(catalogue, c.type, 'asynchronous') ? backlogOf(c.id, design, byComponent) : {})
      }
    })

  // The ceiling and the bottleneck from the offered load (before anything sheds), retries included.
  const { bottleneck, maxSustainableRps } = ceilingOf(
    offeredLoads(design, traffic, catalogue, retryFactors(built.timeouts)),
    traffic.peakRps
  )
  const singlePointsOfFailure = design.components
    .filter(
      (c) => !hasTrait(catalogue, c.type, 'source') && !hasTrait(catalogue, c.type, 'thirdParty') && c.instances === 1
    )
    .filter((c) => !(hasTrait(catalogue, c.type, 'replicated') && (c.replicas ?? 0) > 0))
    .filter((c) => {
      const f = flows.get(c.id) as Flow
      return f.read + f.write > 0
    })
    .map((c) => c.id)

  const links: LinkResult[] = design.links.flatMap((l, j) => {
    const t = built.timeouts[j]
    return t
      ? [
          {
            from: l.from,
            to: l.to,
            timeoutShare: round(t.timeoutShare, 4),
            retryAmplification: round(t.amplification, 4),
            failedShare: round(t.failedShare, 5)
          }
        ]
      : []
  })

  return {
    mode,
    seed,
    samples,
    components,
    ...(links.length > 0 ? { links } : {}),
    ...(confidence ? { confidence } : {}),
    overall: {
      p50: latency(p50),
      p95: latency(p95),
      p99: latency(p99),
      meanLatencyMs: latency(mean),
      throughputRps: round(traffic.peakRps * (1 - errorRate)),
      errorRate: round(errorRate, 5),
      bottleneck,
      maxSustainableRps: round(maxSustainableRps),
      singlePointsOfFailure,
      ...(figures.percentiles ? { percentiles: figures.percentiles } : {}),
      ...(figures.unboundedShare > 0
        ? {
            unbounded: true as const,
            overload: { unboundedShare: round(figures.unboundedShare, 5), queueGrowthRps: round(queueGrowthRps) }
          }
        : {})
    }
  }
}

/** The end-to-end figures, however they were obtained. */
interface EndToEnd {
  p50: number
  p95: number
  p99: number
  mean: number
  errorRate: number
  /** The share of served requests whose latency is unbounded (they cross a saturated station). */
  unboundedShare: number
  /** The analytic mode's method (the discrete-event mode's are its own samples'). */
  percentiles?: 'exact' | 'monte-carlo'
}

/** Steps of the run's budget one lattice operation counts for (it costs about as much as this many sampled steps). */
const OP_STEPS = 256

/**
 * The figures of sampled latencies: a request that crosses a saturated station has an infinite
 * latency, and a figure it reaches is unbounded. The mean is `exactMean` where the paths are
 * enumerated (and nothing is unbounded), the samples' otherwise.
 */
function sampledFigures(latencies: Float64Array, errorRate: number, exactMean: number | undefined): EndToEnd {
  let sum = 0
  let infinite = 0
  for (let i = 0; i < latencies.length; i++) {
    if (latencies[i] === Number.POSITIVE_INFINITY) infinite++
    else sum += latencies[i]
  }
  const mean =
    latencies.length === 0
      ? 0
      : infinite > 0
        ? Number.POSITIVE_INFINITY
        : exactMean !== undefined && Number.isFinite(exactMean)
          ? exactMean
          : sum / latencies.length
  const [p50, p95, p99] = quantiles(latencies, [0.5, 0.95, 0.99])
  return {
    p50,
    p95,
    p99,
    mean,
    errorRate,
    unboundedShare: infinite > 0 ? infinite / latencies.length : 0
  }
}

/** A latency as a result carries it: rounded, or null where it is unbounded. */
const latency = (x: number): number | null => (x === Number.POSITIVE_INFINITY ? null : round(x))

const capacityOf = (s: Station) => s.servers * (1000 / s.serviceTimeMs)

/**
 * A saturated component's known figures: it serves its capacity, its queue grows by the rest, and
 * a request arriving t seconds on waits the t·(λ − C) requests ahead of it, served at C a second.
 */
function overloadOf(nodes: Station[]): NonNullable<ComponentResult['overload']> {
  let served = 0
  let growth = 0
  let waitGrowth = 0
  for (const s of nodes) {
    const capacity = capacityOf(s)
    served += Math.min(s.lambda, capacity)
    if (!s.saturated) continue
    growth += s.lambda - capacity
    waitGrowth = Math.max(waitGrowth, ((s.lambda - capacity) / capacity) * 1000)
  }
  return { servedRps: round(served), queueGrowthRps: round(growth), waitGrowthMsPerSecond: round(waitGrowth) }
}

/**
 * A queue's consumers (the components it links to): they take messages at their own pace, so a
 * consumer past its capacity grows the backlog (λ − capacity messages a second) instead of
 * failing requests, and the lag a message sees is the consumer's sojourn.
 */
function backlogOf(queueId: string, design: Design, byComponent: Map<string, Station[]>): { backlog?: QueueBacklog } {
  const consumers = design.links.filter((l) => l.from === queueId).flatMap((l) => byComponent.get(l.to) ?? [])
  const working = consumers.filter((s) => s.kind === 'queue' && s.lambda > 0)
  if (working.length === 0) return {}
  let growth = 0
  let lag: number | null = 0
  for (const s of working) {
    const capacity = s.servers * (1000 / s.serviceTimeMs)
    if (s.saturated) {
      growth += s.lambda - capacity
      lag = null
    } else if (lag !== null) lag = Math.max(lag, s.meanSojournMs)
  }
  return {
    backlog: {
      consumersUtilization: round(Math.max(...working.map((s) => s.utilization)), 4),
      growthPerSecond: round(growth),
      lagMs: lag === null ? null : round(lag)
    }
  }
}

/** Per link: attempts per traversal (its timeout's retries at the settled load; 1 without a timeout). */
export const retryFactors = (timeouts: readonly (TimeoutFigures | null)[]) =>
  Float64Array.from(timeouts.map((t) => t?.amplification ?? 1))
