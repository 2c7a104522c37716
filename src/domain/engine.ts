import { CATALOGUE, type Catalogue, hasTrait, routingOf } from './components.ts'
import { carries, DivergentDesignError, type Flow, passFactor, propagate } from './flows.ts'
import { type Design, LIMITS, type Link, networkTimeMs, type TrafficProfile } from './model.ts'
import { delayFigures, queueFigures, select, serviceDraw } from './queueing.ts'
import { createWords, exponential, standardExponential, uniform } from './random.ts'
import type { ComponentResult, Confidence, Interval, LinkResult, QueueBacklog, SimulationResult } from './schemas.ts'

// The simulation engine: pure functions, no I/O. Same design, profile and seed → same result.

export { DivergentDesignError, propagate }

/**
 * Thrown when a run takes more steps than its budget (LIMITS.engineSteps unless the caller gives
 * a smaller one): its design is refused, not retried. `code` names it across a thread boundary.
 */
export class EngineBudgetError extends Error {
  readonly code = 'ENGINE_BUDGET'
  readonly limit: number
  constructor(limit: number = LIMITS.engineSteps) {
    super(`the simulation took more than ${limit} steps`)
    this.limit = limit
    this.name = 'EngineBudgetError'
  }
}

export interface Station {
  index: number
  /**
   * `queue`: a component's servers; `delay`: a component with `delay: true` (M/G/∞); `link`: a
   * link's network time; `timeout`: a link with a timeout, standing for everything below it.
   */
  kind: 'queue' | 'delay' | 'link' | 'timeout'
  /** The component (for a link: the one it leaves). */
  componentId: string
  /** `primary` or `replica-N` for a database, `from->to` for a link, otherwise the component id. */
  name: string
  /** All servers: instances × concurrency. */
  servers: number
  /** Separate queues: 1 pooled, `instances` with random balancing. */
  queues: number
  serviceTimeMs: number
  serviceTimeCv: number
  /** Waiting places per queue; null when unbounded. */
  queueLimit: number | null
  lambda: number
  utilization: number
  saturated: boolean
  waitProbability: number
  meanSojournMs: number
  p95SojournMs: number
  /** Share of arrivals lost (a full finite queue, or a saturated station's excess). */
  loss: number
  /** Mean wait of an arrival that waits (ms). */
  waitMs: number
}

export type {
  ComponentResult,
  Confidence,
  Interval,
  LinkResult,
  QueueBacklog,
  SimulationResult
} from './schemas.ts'

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
  /** The component types the design is read with (default CATALOGUE). */
  catalogue?: Catalogue
}

const MAX_HOPS = 64
const round = (x: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

interface Built {
  /** The component types the stations were built with. */
  catalogue: Catalogue
  stations: Station[]
  byComponent: Map<string, Station[]>
  /** Per design link: the station of its network time or of its timeout, or -1 when it has neither. */
  linkStations: Int32Array
  /** Per timeout station: what one traversal of its link takes, retries included (successes only). */
  tables: Map<number, Float64Array>
  /** Per design link with a timeout: its figures (null for other links). */
  timeouts: (TimeoutFigures | null)[]
}

/** A link with a timeout at the load it settles at. */
interface TimeoutFigures {
  /** f: the share of attempts that time out. */
  timeoutShare: number
  /** Attempts per traversal: (1 − f^(R+1)) / (1 − f). */
  amplification: number
  /** Traversals that fail: every attempt timed out (f^(R+1)), or a loss below. */
  failedShare: number
  /** What successful traversals take (retries included): the draws, their mean and p95 (NaN when not asked for). */
  table: Float64Array
  meanMs: number
  p95Ms: number
}

function buildStations(
  design: Design,
  catalogue: Catalogue,
  flows: Map<string, Flow>,
  traffic: TrafficProfile,
  keep?: Float64Array,
  timeouts?: readonly (TimeoutFigures | null)[],
  /** False while a fixed point is sought: the sampled p95s are needed only of the final stations. */
  percentiles = true
): Built {
  const stations: Station[] = []
  const byComponent = new Map<string, Station[]>()
  for (const c of design.components) {
    if (hasTrait(catalogue, c.type, 'source')) continue
    const flow = flows.get(c.id) as Flow
    const delay = c.delay === true
    const servers = delay ? Number.POSITIVE_INFINITY : c.instances * c.concurrency
    const queues = c.balancing === 'random' && !delay ? c.instances : 1
    const queueLimit = c.queueLimit === undefined || delay ? null : Math.floor(c.queueLimit / queues)
    const serviceTimeCv = c.serviceTimeCv ?? 1
    const nodes: { name: string; lambda: number }[] = hasTrait(catalogue, c.type, 'replicated')
      ? (() => {
          // Writes go to the primary; reads spread evenly over primary and replicas.
          const copies = 1 + (c.replicas ?? 0)
          return [
            { name: 'primary', lambda: flow.write + flow.read / copies },
            ...Array.from({ length: copies - 1 }, (_, k) => ({
              name: `replica-${k + 1}`,
              lambda: flow.read / copies
            }))
          ]
        })()
      : [{ name: c.id, lambda: flow.read + flow.write }]
    const list = nodes.map((node) => {
      const station: Station = {
        index: stations.length,
        kind: delay ? 'delay' : 'queue',
        componentId: c.id,
        name: node.name,
        servers,
        queues,
        serviceTimeMs: c.serviceTimeMs,
        serviceTimeCv,
        queueLimit,
        lambda: node.lambda,
        ...(delay
          ? delayFigures(c.serviceTimeMs, serviceTimeCv, percentiles)
          : queueFigures(
              node.lambda,
              {
                queues,
                servers: servers / queues,
                serviceTimeMs: c.serviceTimeMs,
                cv: serviceTimeCv,
                limit: queueLimit
              },
              percentiles
            ))
      }
      stations.push(station)
      return station
    })
    byComponent.set(c.id, list)
  }
  // Links with network time (a constant delay per traversal) or a timeout (a station standing for
  // everything below the link), after the components' stations.
  const index = new Map(design.components.map((c, i) => [c.id, i]))
  const linkStations = new Int32Array(design.links.length).fill(-1)
  design.links.forEach((l, j) => {
    if (networkTimeMs(l, traffic.payloadKb) === null && l.timeoutMs === undefined) return
    linkStations[j] = stations.length
    stations.push(linkStation(design, catalogue, index, j, stations.length, flows, traffic, keep, timeouts?.[j]))
  })
  const sampled = timeouts ? [...timeouts] : []
  return {
    catalogue,
    stations,
    byComponent,
    linkStations,
    tables: timeoutTables(linkStations, sampled),
    timeouts: sampled
  }
}

/** The traversal tables the run draws from, by the station of each sampled timeout's link. */
function timeoutTables(linkStations: Int32Array, timeouts: readonly (TimeoutFigures | null)[]) {
  const tables = new Map<number, Float64Array>()
  timeouts.forEach((timeout, j) => {
    if (timeout && linkStations[j] >= 0) tables.set(linkStations[j], timeout.table)
  })
  return tables
}

/** The station of design link j (its network time, or its timeout figured from its table once one is sampled). */
function linkStation(
  design: Design,
  catalogue: Catalogue,
  index: Map<string, number>,
  j: number,
  at: number,
  flows: Map<string, Flow>,
  traffic: TrafficProfile,
  keep: Float64Array | undefined,
  timeout: TimeoutFigures | null | undefined
): Station {
  const l = design.links[j]
  const ms = networkTimeMs(l, traffic.payloadKb)
  const from = design.components[index.get(l.from) as number]
  const flow = flows.get(l.from) as Flow
  const kept = keep?.[index.get(l.from) as number] ?? 1
  const traffic_ = l.traffic ?? 'both'
  const lambda =
    (l.share ?? 1) *
    kept *
    ((carries(traffic_, 'read') ? flow.read * passFactor(from, 'read', catalogue) : 0) +
      (carries(traffic_, 'write') ? flow.write * passFactor(from, 'write', catalogue) : 0))
  const station: Station = {
    index: at,
    kind: 'link',
    componentId: l.from,
    name: `${l.from}->${l.to}`,
    servers: Number.POSITIVE_INFINITY,
    queues: 1,
    serviceTimeMs: ms ?? 0,
    serviceTimeCv: 0,
    queueLimit: null,
    lambda,
    ...delayFigures(ms ?? 0, 0)
  }
  if (l.timeoutMs !== undefined) {
    // Figured from its table once one is sampled; until then, the link's network time alone.
    station.kind = 'timeout'
    if (timeout) {
      station.meanSojournMs = timeout.meanMs
      station.p95SojournMs = timeout.p95Ms
      station.loss = timeout.failedShare
    }
  }
  return station
}

/**
 * The stations at the load that actually reaches them. What a station loses (a full queue, a
 * saturated one's excess) does not go on to the stations after it; a link with a timeout sends
 * (1 − f^(R+1)) / (1 − f) attempts per traversal, where f, the share of attempts that take longer
 * than the timeout, is sampled at the load those attempts make. Each pass recomputes the traffic
 * with every component's kept share and every link's attempts; an acyclic design without
 * timeouts settles in as many passes as it is deep, the rest at their fixed point.
 */
function solveStations(
  design: Design,
  traffic: TrafficProfile,
  seed = 1,
  samples = TIMEOUT_SAMPLES,
  percentiles = true,
  maxSteps: number = LIMITS.engineSteps,
  catalogue: Catalogue = CATALOGUE
): Built & { flows: Map<string, Flow>; steps: number } {
  let flows = propagate(design, traffic, undefined, undefined, catalogue)
  let built = buildStations(design, catalogue, flows, traffic, undefined, undefined, false)
  const timed = design.links.some((l) => l.timeoutMs !== undefined)
  if (!timed && !built.stations.some((s) => s.loss > 0))
    return { ...buildStations(design, catalogue, flows, traffic, undefined, undefined, percentiles), flows, steps: 0 }
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
      const next = Float64Array.from(timeouts, (t, j) => (t ? t.amplification : factor[j]))
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
    ...buildStations(design, catalogue, flows, traffic, keep, timeouts, percentiles),
    flows,
    steps: sampling?.walker.steps ?? 0
  }
}

/** Per component (design order): the share of its arrivals it does not lose. */
function keptShares(design: Design, built: Built, index: Map<string, number>): Float64Array {
  const keep = new Float64Array(design.components.length).fill(1)
  for (const [id, nodes] of built.byComponent) {
    const lambda = nodes.reduce((sum, n) => sum + n.lambda, 0)
    if (lambda > 0) keep[index.get(id) as number] = 1 - nodes.reduce((sum, n) => sum + n.lambda * n.loss, 0) / lambda
  }
  return keep
}

/**
 * Traversals drawn per link with a timeout: fewer on the passes that seek the load (the same
 * draws each pass, so f moves with the load alone), more for the tables the run draws from.
 */
const TIMEOUT_SAMPLES = { pass: 2000, final: 4000 }

/** What sampling a design's timeouts needs that its passes do not change, and the draws so far. */
interface TimeoutSampling {
  design: Design
  index: Map<string, number>
  outgoing: Map<string, number[]>
  /** The links with a timeout, deepest first. */
  order: { l: Link; j: number }[]
  /** The stations' layout does not change between links or passes: one walker serves them all. */
  walker: Walker
  memo: Map<number, SampledTimeout>
}

function timeoutSampling(design: Design, built: Built, traffic: TrafficProfile): TimeoutSampling {
  const outgoing = linksFrom(design)
  const depth = componentDepths(design, outgoing, built.catalogue)
  return {
    design,
    index: new Map(design.components.map((c, i) => [c.id, i])),
    outgoing,
    order: design.links
      .map((l, j) => ({ l, j }))
      .filter(({ l }) => l.timeoutMs !== undefined)
      .sort((a, b) => (depth.get(b.l.to) ?? 0) - (depth.get(a.l.to) ?? 0)),
    walker: compileWalker(design, built, traffic),
    memo: new Map()
  }
}

/**
 * For each link with a timeout: attempts drawn below it (its `to` entered as a request of the
 * link's mix of reads and writes would be), each timing out past `timeoutMs` and retried up to
 * `retries` times. Deeper timeouts are sampled first, so an outer one draws from their tables.
 */
function sampleTimeouts(
  sampling: TimeoutSampling,
  built: Built,
  flows: Map<string, Flow>,
  keep: Float64Array | undefined,
  traffic: TrafficProfile,
  seed: number,
  samples: number,
  /** Whether the figures need their p95 (the passes that seek the load do not). */
  percentile: boolean
): (TimeoutFigures | null)[] {
  const { design, index, outgoing, order, walker, memo } = sampling
  const out: (TimeoutFigures | null)[] = design.links.map(() => null)
  let current = built
  for (const { l, j } of order) {
    const f = compileSojourns(current.stations, current.tables)
    const flow = flows.get(l.from)
    const from = design.components[index.get(l.from) as number]
    const reads = carries(l.traffic ?? 'both', 'read')
      ? (flow?.read ?? 0) * passFactor(from, 'read', built.catalogue)
      : 0
    const writes = carries(l.traffic ?? 'both', 'write') ? (flow?.write ?? 0) : 0
    walker.clients = Int32Array.of(index.get(l.to) as number)
    walker.readRatio = reads + writes > 0 ? reads / (reads + writes) : traffic.readRatio
    // The draws are seeded per link (common random numbers: f then moves with the load alone, and
    // the passes settle instead of chasing sampling noise). With the same stations below as last
    // time, the draws are last time's: its figures stand, and a larger count goes on from them.
    const key = timeoutKey(stationsBelow(design, current, outgoing, l.to), f, walker.readRatio)
    let known = memo.get(j)
    if (!known || !sameKey(known.key, key) || known.draws.count > samples) {
      known = {
        key,
        draws: { word: createWords(seed * 7919 + j), table: [], sum: 0, attempts: 0, timedOut: 0, failed: 0, count: 0 },
        figures: null
      }
      memo.set(j, known)
    }
    if (!known.figures || known.draws.count < samples || (percentile && Number.isNaN(known.figures.p95Ms))) {
      drawTraversals(known.draws, samples, walker, f, l, traffic.payloadKb)
      known.figures = timeoutFigures(known.draws, l.retries ?? 0, percentile)
    }
    out[j] = known.figures
    current = withTimeouts(design, current, index, flows, traffic, keep, out)
  }
  return out
}

/** The traversals drawn below a link so far, and the source that goes on drawing them. */
interface TimeoutDraws {
  word: () => number
  table: number[]
  /** The table's sum, for its mean. */
  sum: number
  attempts: number
  timedOut: number
  failed: number
  count: number
}

/** Draws traversals of link `l` until `draws` holds `upTo`: each attempt times out past `timeoutMs` and is retried. */
function drawTraversals(draws: TimeoutDraws, upTo: number, walker: Walker, f: Sojourns, l: Link, payloadKb: number) {
  const { word, table } = draws
  const network = networkTimeMs(l, payloadKb) ?? 0
  const timeout = l.timeoutMs as number
  const retries = l.retries ?? 0
  for (; draws.count < upTo; draws.count++) {
    let spent = 0
    let done = false
    for (let k = 0; k <= retries && !done; k++) {
      const length = samplePath(walker, word)
      if (walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
      const below = drawLatency(walker.visits, length, f, word)
      draws.attempts++
      if (below < 0) break
      if (network + below <= timeout) {
        table.push(spent + network + below)
        draws.sum += spent + network + below
        done = true
      } else {
        draws.timedOut++
        spent += timeout
      }
    }
    if (!done) draws.failed++
  }
}

function timeoutFigures(draws: TimeoutDraws, retries: number, percentile: boolean): TimeoutFigures {
  const share = draws.attempts > 0 ? draws.timedOut / draws.attempts : 0
  // In draw order: a run draws from it by a uniform index, so it needs no sort; the p95 is a selection.
  const table = Float64Array.from(draws.table)
  let p95Ms = percentile ? 0 : Number.NaN
  if (percentile && table.length > 0) {
    const rank = rankOf(table.length, 0.95)
    const scratch = table.slice()
    select(scratch, rank, 0, scratch.length - 1)
    p95Ms = scratch[rank]
  }
  return {
    timeoutShare: share,
    amplification: share >= 1 ? retries + 1 : (1 - share ** (retries + 1)) / (1 - share),
    failedShare: draws.failed / draws.count,
    table,
    meanMs: draws.sum / Math.max(1, table.length),
    p95Ms
  }
}

/** A link's draws, what they were drawn from (the sojourns below it, the mix), and their figures. */
interface SampledTimeout {
  key: (number | Float64Array | null)[]
  draws: TimeoutDraws
  figures: TimeoutFigures | null
}

/** The stations a request entering `id` may visit: its components' and their links' (a superset of a walk's). */
function stationsBelow(design: Design, built: Built, outgoing: Map<string, number[]>, id: string): number[] {
  const seen = new Set([id])
  const queue = [id]
  const out: number[] = []
  for (let i = 0; i < queue.length; i++) {
    for (const s of built.byComponent.get(queue[i]) ?? []) out.push(s.index)
    for (const j of outgoing.get(queue[i]) ?? []) {
      if (built.linkStations[j] >= 0) out.push(built.linkStations[j])
      const to = design.links[j].to
      if (!seen.has(to)) {
        seen.add(to)
        queue.push(to)
      }
    }
  }
  return out
}

/** Per component id: the indices of the links leaving it, in design order. */
function linksFrom(design: Design): Map<string, number[]> {
  const outgoing = new Map<string, number[]>()
  design.links.forEach((l, j) => {
    const from = outgoing.get(l.from)
    if (from) from.push(j)
    else outgoing.set(l.from, [j])
  })
  return outgoing
}

function timeoutKey(below: number[], f: Sojourns, readRatio: number): SampledTimeout['key'] {
  const key: SampledTimeout['key'] = [readRatio]
  for (const s of below)
    key.push(s, f.serviceMs[s], f.cv[s], f.keep[s], f.waitProbability[s], f.waitMs[s], f.extraMs[s], f.table[s])
  return key
}

const sameKey = (a: SampledTimeout['key'], b: SampledTimeout['key']) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/**
 * `built` with its timeout stations figured from `timeouts` (those not sampled yet: network time
 * alone), as `buildStations` would build them; the components' stations are kept as they are.
 */
function withTimeouts(
  design: Design,
  built: Built,
  index: Map<string, number>,
  flows: Map<string, Flow>,
  traffic: TrafficProfile,
  keep: Float64Array | undefined,
  timeouts: readonly (TimeoutFigures | null)[]
): Built {
  const stations = built.stations.slice()
  design.links.forEach((l, j) => {
    const at = built.linkStations[j]
    if (l.timeoutMs !== undefined && at >= 0)
      stations[at] = linkStation(design, built.catalogue, index, j, at, flows, traffic, keep, timeouts[j])
  })
  return { ...built, stations, tables: timeoutTables(built.linkStations, timeouts), timeouts: [...timeouts] }
}

/** Each component's distance from the nearest client, in links (a link's depth orders timeouts). */
function componentDepths(design: Design, outgoing: Map<string, number[]>, catalogue: Catalogue): Map<string, number> {
  const depth = new Map<string, number>()
  const queue = design.components.filter((c) => hasTrait(catalogue, c.type, 'source')).map((c) => c.id)
  for (const id of queue) depth.set(id, 0)
  for (let i = 0; i < queue.length; i++) {
    for (const j of outgoing.get(queue[i]) ?? []) {
      const to = design.links[j].to
      if (!depth.has(to)) {
        depth.set(to, (depth.get(queue[i]) ?? 0) + 1)
        queue.push(to)
      }
    }
  }
  return depth
}

/**
 * The design compiled for sampling: components, stations and links as flat arrays, so a path
 * is drawn without allocating (the Monte-Carlo draws tens of thousands of them per run).
 */
interface Walker {
  clients: Int32Array
  readRatio: number
  /** Per component: what it does to a request (WALK below). */
  kind: Uint8Array
  /** Per component: 1 when its links split (each request takes exactly one), 0 when each is called on its own. */
  split: Uint8Array
  hitRatio: Float64Array
  firstStation: Int32Array
  stationCount: Int32Array
  linkStart: Int32Array
  linkTo: Int32Array
  linkShare: Float64Array
  linkRead: Uint8Array
  linkWrite: Uint8Array
  /** Per link: the station of its network time or timeout, or -1. */
  linkStation: Int32Array
  /** Per link: 1 when it has a timeout: its station stands for everything below, which the walk does not enter. */
  linkStop: Uint8Array
  /** Scratch: the stations of the path drawn last, and the walk's stack. */
  visits: Int32Array
  stackComponent: Int32Array
  stackLink: Int32Array
  /** Per frame: the link after its last, and whether its links are followed without a draw (a split's pick). */
  stackEnd: Int32Array
  stackForce: Uint8Array
  stackDepth: Int32Array
  /** Links drawn so far, for the run's step budget. */
  steps: number
  /** The run's step budget: the steps it may take in all. */
  limit: number
  /**
   * Whether a certain event (the only client, a link of share 1) still takes a draw: the
   * discrete-event mode draws them as the first engine did, so its runs stay the same; the
   * Monte-Carlo spares them.
   */
  drawCertain: boolean
}

/** What entering a component does to a request's walk, by its type's traits. */
const WALK = { source: 0, handsOff: 1, mayAnswer: 2, station: 3 } as const

function walkOf(catalogue: Catalogue, type: string): number {
  if (hasTrait(catalogue, type, 'source')) return WALK.source
  if (hasTrait(catalogue, type, 'asynchronous')) return WALK.handsOff
  if (hasTrait(catalogue, type, 'absorbsReads')) return WALK.mayAnswer
  return WALK.station
}

function compileWalker(design: Design, built: Built, traffic: TrafficProfile): Walker {
  const { stations } = built
  const index = new Map(design.components.map((c, i) => [c.id, i]))
  const n = design.components.length
  const firstStation = new Int32Array(n).fill(-1)
  const stationCount = new Int32Array(n)
  for (const s of stations) {
    if (s.kind === 'link') continue
    const i = index.get(s.componentId) as number
    if (firstStation[i] < 0) firstStation[i] = s.index
    stationCount[i]++
  }
  const linkStart = new Int32Array(n + 1)
  for (const l of design.links) linkStart[(index.get(l.from) as number) + 1]++
  for (let i = 0; i < n; i++) linkStart[i + 1] += linkStart[i]
  const fill = linkStart.slice(0, n)
  const m = design.links.length
  const linkTo = new Int32Array(m)
  const linkShare = new Float64Array(m)
  const linkRead = new Uint8Array(m)
  const linkWrite = new Uint8Array(m)
  const linkStation = new Int32Array(m)
  const linkStop = new Uint8Array(m)
  // Links keep their order within a component: the draws follow them in document order.
  for (const [j, l] of design.links.entries()) {
    const k = fill[index.get(l.from) as number]++
    linkStation[k] = built.linkStations[j]
    linkStop[k] = l.timeoutMs !== undefined ? 1 : 0
    const traffic = l.traffic ?? 'both'
    linkTo[k] = index.get(l.to) as number
    linkShare[k] = l.share ?? 1
    linkRead[k] = carries(traffic, 'read') ? 1 : 0
    linkWrite[k] = carries(traffic, 'write') ? 1 : 0
  }
  const { catalogue } = built
  return {
    clients: Int32Array.from(design.components.flatMap((c, i) => (hasTrait(catalogue, c.type, 'source') ? [i] : []))),
    readRatio: traffic.readRatio,
    kind: Uint8Array.from(design.components, (c) => walkOf(catalogue, c.type)),
    split: Uint8Array.from(design.components, (c) => (routingOf(c, catalogue) === 'split' ? 1 : 0)),
    hitRatio: Float64Array.from(design.components, (c) => c.hitRatio ?? 0),
    firstStation,
    stationCount,
    linkStart,
    linkTo,
    linkShare,
    linkRead,
    linkWrite,
    linkStation,
    linkStop,
    visits: new Int32Array(64),
    stackComponent: new Int32Array(MAX_HOPS + 2),
    stackLink: new Int32Array(MAX_HOPS + 2),
    stackEnd: new Int32Array(MAX_HOPS + 2),
    stackForce: new Uint8Array(MAX_HOPS + 2),
    stackDepth: new Int32Array(MAX_HOPS + 2),
    steps: 0,
    limit: LIMITS.engineSteps,
    drawCertain: false
  }
}

/**
 * Draws one request's path into `w.visits` and returns its length: the stations it visits in
 * order. Each link is followed on its own with probability `share` (depth first, in document
 * order); a cache hit stops the request; a queue hands work off asynchronously, so what follows
 * it is not on the request's path. No closures and no allocation: this runs per sample.
 */
function samplePath(w: Walker, word: () => number): number {
  const { kind, linkStart, linkTo, linkShare, stackComponent, stackLink, stackEnd, stackForce, stackDepth } = w
  let visits = 0
  let sp = 0
  const { drawCertain } = w
  let c = w.clients.length > 1 || drawCertain ? w.clients[Math.floor(uniform(word) * w.clients.length)] : w.clients[0]
  const read = uniform(word) < w.readRatio
  const carried = read ? w.linkRead : w.linkWrite
  let depth = 0
  for (;;) {
    // Enter component c at this depth.
    let follow = depth <= MAX_HOPS
    if (follow && kind[c] !== WALK.source) {
      const count = w.stationCount[c]
      if (visits === w.visits.length) {
        const grown = new Int32Array(visits * 2)
        grown.set(w.visits)
        w.visits = grown
      }
      w.visits[visits++] =
        !read || count === 1 ? w.firstStation[c] : w.firstStation[c] + Math.floor(uniform(word) * count)
      if (kind[c] === WALK.handsOff) follow = false
      else if (kind[c] === WALK.mayAnswer && read && uniform(word) < w.hitRatio[c]) follow = false
    }
    if (follow) {
      stackComponent[sp] = c
      stackDepth[sp] = depth
      if (w.split[c] === 1) {
        // A split: one draw picks the one link this request takes (by cumulative share).
        const u = uniform(word)
        let cumulative = 0
        let pick = -1
        for (let l = linkStart[c]; l < linkStart[c + 1]; l++) {
          if (carried[l] !== 1) continue
          pick = l
          cumulative += linkShare[l]
          if (u < cumulative) break
        }
        w.steps += linkStart[c + 1] - linkStart[c]
        stackLink[sp] = pick < 0 ? linkStart[c + 1] : pick
        stackEnd[sp] = pick < 0 ? linkStart[c + 1] : pick + 1
        stackForce[sp] = 1
      } else {
        stackLink[sp] = linkStart[c]
        stackEnd[sp] = linkStart[c + 1]
        stackForce[sp] = 0
      }
      sp++
    }
    // Find the next component to enter: the next link taken, depth first.
    c = -1
    while (sp > 0) {
      const top = sp - 1
      const l = stackLink[top]
      if (l >= stackEnd[top]) {
        sp--
        continue
      }
      stackLink[top] = l + 1
      w.steps++
      const share = linkShare[l]
      if (carried[l] === 1 && (stackForce[top] === 1 || (share >= 1 && !drawCertain) || uniform(word) < share)) {
        c = linkTo[l]
        depth = stackDepth[top] + 1
        if (w.linkStation[l] >= 0) {
          if (visits === w.visits.length) {
            const grown = new Int32Array(visits * 2)
            grown.set(w.visits)
            w.visits = grown
          }
          w.visits[visits++] = w.linkStation[l]
        }
        // Below a timeout is its station's to draw: go on with the next link instead.
        if (w.linkStop[l] === 1) {
          c = -1
          continue
        }
        break
      }
    }
    if (c < 0) return visits
  }
}

/** A kind of request path: the stations it visits (in any order: the sojourns add up) and its probability. */
interface PathClass {
  stations: Int32Array
  probability: number
}

/** Past these, a design's paths are drawn one by one instead (a fan-out of many optional links). */
const MAX_PATH_CLASSES = 512
const MAX_ENUMERATION_STEPS = 50_000
/** Branches rarer than this are dropped: no run draws enough samples to meet one. */
const MIN_PATH_PROBABILITY = 1e-12

/** Enumerations kept for the next runs of the same structure (an analysis runs one design many times). */
const KNOWN_PATHS = new Map<string, PathClass[] | null>()
const KNOWN_PATHS_LIMIT = 16

/**
 * `enumeratePaths`, remembered: its answer depends only on the walker's structure (not on the
 * load), and a load sweep or a failure scenario asks again for the same one. Keyed on every
 * array it reads, so a changed design never meets a stale answer; the oldest is forgotten first.
 */
function knownPaths(w: Walker): PathClass[] | null {
  const key = [
    w.readRatio,
    w.clients,
    w.kind,
    w.split,
    w.hitRatio,
    w.firstStation,
    w.stationCount,
    w.linkStart,
    w.linkTo,
    w.linkShare,
    w.linkRead,
    w.linkWrite,
    w.linkStation,
    w.linkStop
  ].join('|')
  if (KNOWN_PATHS.has(key)) {
    const paths = KNOWN_PATHS.get(key) as PathClass[] | null
    // Most recently used last.
    KNOWN_PATHS.delete(key)
    KNOWN_PATHS.set(key, paths)
    return paths
  }
  const paths = enumeratePaths(w)
  KNOWN_PATHS.set(key, paths)
  if (KNOWN_PATHS.size > KNOWN_PATHS_LIMIT) KNOWN_PATHS.delete(KNOWN_PATHS.keys().next().value as string)
  return paths
}

/**
 * Every kind of path a request can take, with its probability: the walk `samplePath` draws,
 * taken down every branch (client, read or write, replica, cache hit, each optional link) instead
 * of one. Null when the design has more kinds than are worth listing.
 */
function enumeratePaths(w: Walker): PathClass[] | null {
  const { kind, linkStart, linkTo, linkShare, firstStation, stationCount, hitRatio } = w
  /** A component being walked: its next link, the link after its last, and whether they are taken without a draw. */
  type Frame = { c: number; link: number; end: number; force: boolean; depth: number }
  // One branch of the walk still to explore: `enter` component c, or find the `next` one from the stack.
  type Branch = {
    op: 'next' | 'enter'
    c: number
    depth: number
    stack: readonly Frame[]
    visits: readonly number[]
    p: number
    read: boolean
  }
  const classes = new Map<string, PathClass>()
  let steps = 0
  const finish = (visits: readonly number[], p: number): boolean => {
    const stations = Int32Array.from(visits).sort()
    const key = stations.join(',')
    const known = classes.get(key)
    if (known) known.probability += p
    else if (classes.size >= MAX_PATH_CLASSES) return false
    else classes.set(key, { stations, probability: p })
    return true
  }
  // Depth first with an explicit stack (no recursion tied to the design's depth); branches are
  // pushed in reverse so they are explored in the order the sampler draws them.
  const todo: Branch[] = []
  for (let i = w.clients.length - 1; i >= 0; i--) {
    const share = 1 / w.clients.length
    const base = { op: 'enter', c: w.clients[i], depth: 0, stack: [], visits: [] } as const
    if (w.readRatio < 1) todo.push({ ...base, p: share * (1 - w.readRatio), read: false })
    if (w.readRatio > 0) todo.push({ ...base, p: share * w.readRatio, read: true })
  }
  // The ways a request goes on from component c: one frame with every link (calls), or one frame
  // per link a split may pick, with that link's share.
  const onwards = (c: number, depth: number, stack: readonly Frame[], carried: Uint8Array) => {
    const end = linkStart[c + 1]
    if (w.split[c] === 0) return [{ stack: [...stack, { c, link: linkStart[c], end, force: false, depth }], share: 1 }]
    const picks: { stack: Frame[]; share: number }[] = []
    for (let l = linkStart[c]; l < end; l++) {
      if (carried[l] === 1)
        picks.push({ stack: [...stack, { c, link: l, end: l + 1, force: true, depth }], share: linkShare[l] })
    }
    return picks.length > 0 ? picks : [{ stack: [...stack], share: 1 }]
  }
  while (todo.length > 0) {
    const { op, c, depth, stack, visits, p, read } = todo.pop() as Branch
    const carried = read ? w.linkRead : w.linkWrite
    if (op === 'enter') {
      if (depth > MAX_HOPS) {
        todo.push({ op: 'next', c, depth, stack, visits, p, read })
        continue
      }
      const ways = onwards(c, depth, stack, carried)
      const goOn = (branch: Omit<Branch, 'stack' | 'p'>, q: number) => {
        for (let i = ways.length - 1; i >= 0; i--)
          if (q * ways[i].share >= MIN_PATH_PROBABILITY)
            todo.push({ ...branch, stack: ways[i].stack, p: q * ways[i].share })
      }
      if (kind[c] === WALK.source) {
        goOn({ op: 'next', c, depth, visits, read }, p)
        continue
      }
      const copies = read ? stationCount[c] : 1
      for (let k = copies - 1; k >= 0; k--) {
        const q = p / copies
        const seen = [...visits, firstStation[c] + k]
        const branch = { op: 'next', c, depth, visits: seen, read } as const
        if (kind[c] === WALK.handsOff) todo.push({ ...branch, stack, p: q })
        else if (kind[c] === WALK.mayAnswer && read) {
          if (hitRatio[c] < 1) goOn(branch, q * (1 - hitRatio[c]))
          if (hitRatio[c] > 0 && q * hitRatio[c] >= MIN_PATH_PROBABILITY)
            todo.push({ ...branch, stack, p: q * hitRatio[c] })
        } else goOn(branch, q)
      }
      continue
    }
    let rest = stack
    let ended = true
    while (rest.length > 0) {
      if (++steps > MAX_ENUMERATION_STEPS) return null
      const top = rest[rest.length - 1]
      if (top.link >= top.end) {
        rest = rest.slice(0, -1)
        continue
      }
      const l = top.link
      rest = [...rest.slice(0, -1), { ...top, link: l + 1 }]
      const share = carried[l] !== 1 ? 0 : top.force ? 1 : linkShare[l]
      if (share <= 0) continue
      const via = w.linkStation[l] >= 0 ? [...visits, w.linkStation[l]] : visits
      if (p * share >= MIN_PATH_PROBABILITY) {
        // Below a timeout is its station's to draw: the walk goes on with the next link.
        if (w.linkStop[l] === 1) todo.push({ op: 'next', c, depth, stack: rest, visits: via, p: p * share, read })
        else
          todo.push({ op: 'enter', c: linkTo[l], depth: top.depth + 1, stack: rest, visits: via, p: p * share, read })
      }
      if (share < 1 && p * (1 - share) >= MIN_PATH_PROBABILITY)
        todo.push({ op: 'next', c, depth, stack: rest, visits, p: p * (1 - share), read })
      ended = false
      break
    }
    if (ended && !finish(visits, p)) return null
  }
  // A fixed order (by key), so the draws do not depend on the order the walk found the paths in.
  return [...classes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, path]) => path)
}

/** A station's figures as flat arrays, for drawing sojourns without touching objects. */
interface Sojourns {
  serviceMs: Float64Array
  waitMs: Float64Array
  waitProbability: Float64Array
  /** The share of requests a station keeps: saturated ones 1/ρ, finite queues 1 − their loss, others all. */
  keep: Float64Array
  extraMs: Float64Array
  /** Service-time CV per station (1: exponential). */
  cv: Float64Array
  /** Per station: the sampled traversals of a link with a timeout (drawn instead of a sojourn), or null. */
  table: (Float64Array | null)[]
}

function compileSojourns(stations: Station[], tables: Map<number, Float64Array>): Sojourns {
  const n = stations.length
  const out: Sojourns = {
    serviceMs: new Float64Array(n),
    waitMs: new Float64Array(n),
    waitProbability: new Float64Array(n),
    keep: new Float64Array(n).fill(1),
    extraMs: new Float64Array(n),
    cv: new Float64Array(n),
    table: stations.map((s) => tables.get(s.index) ?? null)
  }
  for (const s of stations) {
    out.serviceMs[s.index] = s.serviceTimeMs
    out.cv[s.index] = s.serviceTimeCv
    if (s.saturated) {
      out.keep[s.index] = 1 / s.utilization
      out.extraMs[s.index] = s.waitMs
    } else {
      out.keep[s.index] = 1 - s.loss
      out.waitProbability[s.index] = s.waitProbability
      out.waitMs[s.index] = s.waitMs
    }
  }
  return out
}

/**
 * One end-to-end latency over the given stations: the sum of a sojourn at each (its service time
 * drawn with the station's CV, plus, with the station's waiting probability, an exponential wait
 * of the right mean); -1 when a saturated station or a full queue loses it.
 */
function drawLatency(stations: Int32Array, length: number, f: Sojourns, word: () => number): number {
  let total = 0
  for (let v = 0; v < length; v++) {
    const s = stations[v]
    if (f.keep[s] < 1 && uniform(word) >= f.keep[s]) return -1
    const table = f.table[s]
    if (table !== null) {
      if (table.length > 0) total += table[Math.floor(uniform(word) * table.length)]
      continue
    }
    total +=
      (f.cv[s] === 1 ? standardExponential(word) * f.serviceMs[s] : serviceDraw(word, f.serviceMs[s], f.cv[s])) +
      f.extraMs[s]
    if (f.waitProbability[s] > 0 && uniform(word) < f.waitProbability[s])
      total += standardExponential(word) * f.waitMs[s]
  }
  return total
}

/**
 * The Monte-Carlo latencies. Each kind of path gets its share of the samples (stratified, by
 * systematic allocation from a seeded offset), and each sample draws its stations' sojourns: the
 * mixture of paths is then exact and only the sojourns vary. The share of requests that saturated
 * stations shed is then exact too (each path's probability times the chance a station on it sheds
 * the request), so a single saturated station passes exactly its capacity. A design with too many
 * kinds of path draws each sample's path as well, and the shed share is the samples' estimate.
 */
function monteCarlo(
  walker: Walker,
  built: Built,
  samples: number,
  word: () => number
): { latencies: Float64Array; errorRate: number } {
  const f = compileSojourns(built.stations, built.tables)
  const latencies = new Float64Array(samples)
  let kept = 0
  let dropped = 0
  let steps = 0
  const record = (latency: number, length: number) => {
    steps += length
    if (steps + walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
    if (latency < 0) dropped++
    else latencies[kept++] = latency
  }
  const classes = knownPaths(walker)
  if (classes) {
    const total = classes.reduce((sum, c) => sum + c.probability, 0)
    const offset = uniform(word)
    let cumulative = 0
    let before = 0
    let shed = 0
    for (const [k, path] of classes.entries()) {
      cumulative += path.probability / total
      const upTo = k === classes.length - 1 ? samples : Math.min(samples, Math.floor(cumulative * samples + offset))
      for (let i = before; i < upTo; i++)
        record(drawLatency(path.stations, path.stations.length, f, word), path.stations.length)
      before = Math.max(before, upTo)
      let passes = 1
      for (const s of path.stations) passes *= f.keep[s]
      shed += (path.probability / total) * (1 - passes)
    }
    return { latencies: latencies.subarray(0, kept), errorRate: shed }
  }
  for (let i = 0; i < samples; i++) {
    // The path first: a long one replaces walker.visits with a larger buffer.
    const length = samplePath(walker, word)
    record(drawLatency(walker.visits, length, f, word), length + 1)
  }
  return { latencies: latencies.subarray(0, kept), errorRate: samples > 0 ? dropped / samples : 0 }
}

/**
 * Requests to run before recording: the queues need about 1 / (1 − ρ)² service times to forget
 * that they started empty (an M/M/1's relaxation time grows so), so 20 / (1 − ρ)² requests for
 * the busiest station, at least 100 and at most as many as the replication records.
 */
function warmupRequests(stations: Station[], recorded: number): number {
  const busiest = stations.reduce((max, s) => (s.kind === 'queue' ? Math.max(max, s.utilization) : max), 0)
  return Math.min(recorded, Math.max(100, Math.ceil(20 / (1 - Math.min(busiest, 0.999)) ** 2)))
}

/** Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom; 1.96 beyond. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
]

/** The 95 % interval of the mean of independent estimates. */
function interval(values: number[]): Interval {
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = values.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1)
  const half = (T_975[n - 2] ?? 1.96) * Math.sqrt(variance / n)
  return { low: round(mean - half), high: round(mean + half) }
}

/** The rank of quantile q among n values (nearest rank). */
const rankOf = (n: number, q: number) => Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))

/** The nearest-rank quantiles of `values` (ascending qs), reordering it in place. */
export function quantiles(values: Float64Array, qs: number[]): number[] {
  const n = values.length
  if (n === 0) return qs.map(() => 0)
  let lo = 0
  return qs.map((q) => {
    const k = rankOf(n, q)
    select(values, k, lo, n - 1)
    // Everything from k on is ≥ the k-th value, so the next (higher) quantile lies there.
    lo = k
    return values[k]
  })
}

/** End-to-end latencies from a seeded event-driven simulation of the same (stable) network. */
function discreteEventLatencies(
  walker: Walker,
  stations: Station[],
  traffic: TrafficProfile,
  word: () => number,
  requests: number,
  roundRobin: boolean,
  /** Requests at the start left out of the figures while the queues fill. */
  warmup: number
): { latencies: number[]; lost: number } {
  const rng = () => uniform(word)
  // Event heap ordered by time: [time, kind(0 arrival at station,1 departure), request, station].
  const heap: [number, number, number, number][] = []
  const push = (e: [number, number, number, number]) => {
    heap.push(e)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p][0] <= heap[i][0]) break
      ;[heap[p], heap[i]] = [heap[i], heap[p]]
      i = p
    }
  }
  const pop = () => {
    const top = heap[0]
    const last = heap.pop() as [number, number, number, number]
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i], heap[m]]
        i = m
      }
    }
    return top
  }
  // Each station's queues (one pooled, one per instance when balanced at random): the event's
  // last field is a queue, and queueStation maps it back.
  const queueBase = new Int32Array(stations.length)
  const queueStation: number[] = []
  for (const s of stations) {
    queueBase[s.index] = queueStation.length
    for (let q = 0; q < s.queues; q++) queueStation.push(s.index)
  }
  const turn = new Int32Array(stations.length)
  const busy = new Int32Array(queueStation.length)
  const waiting: number[][] = queueStation.map(() => [])
  const service = (station: Station) =>
    station.serviceTimeCv === 1
      ? exponential(rng, 1000 / station.serviceTimeMs) * 1000
      : serviceDraw(word, station.serviceTimeMs, station.serviceTimeCv)
  let lost = 0
  const paths: Int32Array[] = []
  const step = new Int32Array(requests)
  const born = new Float64Array(requests)
  const latencies: number[] = []
  let t = 0
  for (let r = 0; r < requests; r++) {
    t += exponential(rng, traffic.peakRps) * 1000
    // Draw first: a long path replaces walker.visits with a larger buffer.
    const length = samplePath(walker, word)
    paths.push(walker.visits.slice(0, length))
    born[r] = t
  }
  const advance = (r: number, now: number) => {
    const path = paths[r]
    if (step[r] >= path.length) {
      if (r >= warmup) latencies.push(now - born[r])
      return
    }
    const s = path[step[r]]
    const station = stations[s]
    const q = station.queues === 1 ? 0 : roundRobin ? turn[s]++ % station.queues : Math.floor(rng() * station.queues)
    push([now, 0, r, queueBase[s] + q])
  }
  for (let r = 0; r < requests; r++) advance(r, born[r])
  let events = 0
  while (heap.length > 0) {
    if (++events + walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
    const [now, kind, r, q] = pop()
    const station = stations[queueStation[q]]
    if (kind === 0) {
      if (busy[q] < station.servers / station.queues) {
        busy[q]++
        push([now + service(station), 1, r, q])
      } else if (station.queueLimit !== null && waiting[q].length >= station.queueLimit) {
        // A full queue loses the request: it goes no further.
        if (r >= warmup) lost++
      } else waiting[q].push(r)
    } else {
      const next = waiting[q].shift()
      if (next !== undefined) push([now + service(station), 1, next, q])
      else busy[q]--
      step[r]++
      advance(r, now)
    }
  }
  return { latencies, lost }
}

/** Simulates a valid design under a traffic profile. */
export function simulate(design: Design, traffic: TrafficProfile, options: SimulateOptions = {}): SimulationResult {
  const seed = options.seed ?? 1
  const mode = options.mode ?? 'analytic'
  const samples = options.samples ?? (mode === 'analytic' ? 20_000 : 50_000)
  const maxSteps = options.maxSteps ?? LIMITS.engineSteps
  const catalogue = options.catalogue ?? CATALOGUE
  const built = solveStations(
    design,
    traffic,
    seed,
    options.timeoutSamples,
    options.componentPercentiles ?? true,
    maxSteps,
    catalogue
  )
  const { stations, byComponent, flows } = built
  const walker = compileWalker(design, built, traffic)
  // The timeouts' traversals count against the same budget as the requests.
  walker.steps = built.steps
  walker.limit = maxSteps
  let latencies: Float64Array
  let errorRate = 0
  let confidence: Confidence | undefined
  if (mode === 'discrete-event') {
    if (stations.some((s) => s.saturated)) {
      throw new DivergentDesignError('the discrete-event mode needs a stable design (every utilisation below 1)')
    }
    if (stations.some((s) => s.kind === 'timeout')) {
      throw new DivergentDesignError('the discrete-event mode does not model timeouts; the analytic mode does')
    }
    // Independent replications, each warmed up for as long as its busiest station needs; one
    // replication is the first engine's single run (its first tenth as warm-up), with no interval.
    walker.drawCertain = true
    const replications = Math.max(1, Math.floor(options.replications ?? 10))
    const per = Math.max(1, Math.floor(samples / replications))
    const warmup = replications === 1 ? Math.floor(samples * 0.1) : warmupRequests(stations, per)
    const pooled: number[] = []
    const means: number[] = []
    const p95s: number[] = []
    let lost = 0
    for (let r = 0; r < replications; r++) {
      const run = discreteEventLatencies(
        walker,
        stations,
        traffic,
        createWords(seed + r * 7919),
        replications === 1 ? samples : per + warmup,
        options.roundRobin ?? false,
        warmup
      )
      lost += run.lost
      for (const x of run.latencies) pooled.push(x)
      const values = Float64Array.from(run.latencies)
      means.push(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length))
      p95s.push(quantiles(values, [0.95])[0])
    }
    latencies = Float64Array.from(pooled)
    errorRate = lost / Math.max(1, lost + pooled.length)
    if (replications > 1)
      confidence = { replications, warmupRequests: warmup, meanLatencyMs: interval(means), p95: interval(p95s) }
  } else {
    ;({ latencies, errorRate } = monteCarlo(walker, built, samples, createWords(seed)))
  }
  let sum = 0
  for (let i = 0; i < latencies.length; i++) sum += latencies[i]
  const mean = latencies.length > 0 ? sum / latencies.length : 0
  const [p50, p95, p99] = quantiles(latencies, [0.5, 0.95, 0.99])

  const components: ComponentResult[] = design.components
    .filter((c) => !hasTrait(catalogue, c.type, 'source'))
    .map((c) => {
      const nodes = byComponent.get(c.id) as Station[]
      const lambda = nodes.reduce((sum, s) => sum + s.lambda, 0)
      const busiest = nodes.reduce((a, b) => (b.utilization > a.utilization ? b : a))
      const meanLatency =
        lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.meanSojournMs, 0) / lambda : busiest.meanSojournMs
      return {
        id: c.id,
        type: c.type,
        arrivalRps: round(lambda),
        utilization: round(busiest.utilization, 4),
        meanLatencyMs: round(meanLatency),
        p95LatencyMs:
          options.componentPercentiles === false ? Number.NaN : round(Math.max(...nodes.map((s) => s.p95SojournMs))),
        saturated: nodes.some((s) => s.saturated),
        lossRate: round(lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.loss, 0) / lambda : 0, 5),
        ...(hasTrait(catalogue, c.type, 'asynchronous') ? backlogOf(c.id, design, byComponent) : {})
      }
    })

  // Delays never queue: only stations with servers can be the bottleneck or set the ceiling.
  const loaded = stations.filter((s) => s.lambda > 0 && s.kind === 'queue')
  const bottleneck = loaded.length > 0 ? loaded.reduce((a, b) => (b.utilization > a.utilization ? b : a)) : null
  // λ at every station is linear in peakRps (at the load that passes, when stations shed), so the
  // first station to reach ρ = 1 sets the ceiling.
  const maxSustainableRps =
    loaded.length > 0 && traffic.peakRps > 0
      ? Math.min(...loaded.map((s) => (s.servers * (1000 / s.serviceTimeMs)) / (s.lambda / traffic.peakRps)))
      : 0
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
      p50: round(p50),
      p95: round(p95),
      p99: round(p99),
      meanLatencyMs: round(mean),
      throughputRps: round(traffic.peakRps * (1 - errorRate)),
      errorRate: round(errorRate, 5),
      bottleneck: bottleneck?.componentId ?? null,
      maxSustainableRps: round(Number.isFinite(maxSustainableRps) ? maxSustainableRps : 0),
      singlePointsOfFailure
    }
  }
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

/**
 * The kinds of path requests take through a design, each a list of stations (`db:primary` for a
 * database's copies) with its probability; null when there are too many to list, and the
 * Monte-Carlo draws each sample's path instead.
 */
export function requestPaths(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue = CATALOGUE
): { stations: string[]; probability: number }[] | null {
  // The stations' layout only: the paths do not depend on the load or on what timeouts settle at.
  const flows = propagate(design, traffic, undefined, undefined, catalogue)
  const built = buildStations(design, catalogue, flows, traffic, undefined, undefined, false)
  const { stations } = built
  const name = (s: Station) => (s.name === s.componentId || s.kind === 'link' ? s.name : `${s.componentId}:${s.name}`)
  return (
    knownPaths(compileWalker(design, built, traffic))?.map((path) => ({
      stations: Array.from(path.stations, (i) => name(stations[i])),
      probability: path.probability
    })) ?? null
  )
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
