import { type Catalogue, hasTrait } from '../components.ts'
import { carries, type Flow, passFactor } from '../flows.ts'
import { type Component, type Design, networkTimeMs, type TrafficProfile } from '../model.ts'
import { delayFigures, type QuantileDraws, type QueueFigures, queueFigures, type StationShape } from '../queueing.ts'

// Stations from a design: each component's servers (or delay) and each link's network time or
// timeout, with their queueing figures at the rates given.

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
  /** Queues with one waiting place more than queueLimit: `queueLimit` is spread over the queues without losing any. */
  queueLimitExtra: number
  /** The arrivals' coefficient of variation (the traffic profile's; 1 for links: not queues). */
  arrivalCv: number
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

export interface Built {
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
export interface TimeoutFigures {
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

/** A component's copies and their arrivals: a replicated type's writes go to its primary, its reads spread evenly over primary and replicas. */
export function copyLoads(c: Component, flow: Flow, catalogue: Catalogue): { name: string; lambda: number }[] {
  if (!hasTrait(catalogue, c.type, 'replicated')) return [{ name: c.id, lambda: flow.read + flow.write }]
  const copies = 1 + (c.replicas ?? 0)
  return [
    { name: 'primary', lambda: flow.write + flow.read / copies },
    ...Array.from({ length: copies - 1 }, (_, k) => ({ name: `replica-${k + 1}`, lambda: flow.read / copies }))
  ]
}

export function buildStations(
  design: Design,
  catalogue: Catalogue,
  flows: Map<string, Flow>,
  traffic: TrafficProfile,
  keep?: Float64Array,
  timeouts?: readonly (TimeoutFigures | null)[],
  /** False while a fixed point is sought: the sampled p95s are needed only of the final stations. */
  percentiles = true,
  /** The sampled p95s' draws, kept across the run (and its caller's runs). */
  draws?: QuantileDraws
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
    const queueLimitExtra = queueLimit === null ? 0 : (c.queueLimit as number) - queueLimit * queues
    const serviceTimeCv = c.serviceTimeCv ?? 1
    const list = copyLoads(c, flow, catalogue).map((node) => {
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
        queueLimitExtra,
        arrivalCv: traffic.arrivalCv ?? 1,
        lambda: node.lambda,
        ...(delay
          ? delayFigures(c.serviceTimeMs, serviceTimeCv, percentiles, draws)
          : spreadQueueFigures(
              node.lambda,
              {
                queues,
                servers: servers / queues,
                serviceTimeMs: c.serviceTimeMs,
                cv: serviceTimeCv,
                limit: queueLimit,
                arrivalCv: traffic.arrivalCv ?? 1
              },
              queueLimitExtra,
              percentiles,
              draws
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

/**
 * A station whose `extra` queues (random balancing) have one waiting place more than the rest:
 * the two kinds of queue, each with its share of the arrivals, mixed by the requests each admits.
 * The p95 is the fuller kind's (an upper bound of the mixture's).
 */
export function spreadQueueFigures(
  lambda: number,
  shape: StationShape,
  extra: number,
  percentiles: boolean,
  draws: QuantileDraws | undefined
): QueueFigures {
  if (extra === 0 || shape.limit === null) return queueFigures(lambda, shape, percentiles, draws)
  const n = shape.queues
  const wf = (n - extra) / n
  const wm = extra / n
  const fewer = queueFigures(lambda * wf, { ...shape, queues: n - extra }, percentiles, draws)
  const more = queueFigures(lambda * wm, { ...shape, queues: extra, limit: shape.limit + 1 }, percentiles, draws)
  const af = wf * (1 - fewer.loss)
  const am = wm * (1 - more.loss)
  const admitted = af + am
  const mix = (x: number, y: number) => (admitted > 0 ? (af * x + am * y) / admitted : x)
  const waitProbability = mix(fewer.waitProbability, more.waitProbability)
  const meanSojournMs = mix(fewer.meanSojournMs, more.meanSojournMs)
  const meanWaitMs = meanSojournMs - shape.serviceTimeMs
  return {
    utilization: wf * fewer.utilization + wm * more.utilization,
    saturated: false,
    waitProbability,
    meanSojournMs,
    p95SojournMs: Math.max(fewer.p95SojournMs, more.p95SojournMs),
    loss: wf * fewer.loss + wm * more.loss,
    waitMs: waitProbability > 0 ? meanWaitMs / waitProbability : 0
  }
}

/** The traversal tables the run draws from, by the station of each sampled timeout's link. */
export function timeoutTables(linkStations: Int32Array, timeouts: readonly (TimeoutFigures | null)[]) {
  const tables = new Map<number, Float64Array>()
  timeouts.forEach((timeout, j) => {
    if (timeout && linkStations[j] >= 0) tables.set(linkStations[j], timeout.table)
  })
  return tables
}

/** The station of design link j (its network time, or its timeout figured from its table once one is sampled). */
export function linkStation(
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
    queueLimitExtra: 0,
    arrivalCv: 1,
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

/** Per component (design order): the share of its arrivals it does not lose. */
export function keptShares(design: Design, built: Built, index: Map<string, number>): Float64Array {
  const keep = new Float64Array(design.components.length).fill(1)
  for (const [id, nodes] of built.byComponent) {
    const lambda = nodes.reduce((sum, n) => sum + n.lambda, 0)
    if (lambda > 0) keep[index.get(id) as number] = 1 - nodes.reduce((sum, n) => sum + n.lambda * n.loss, 0) / lambda
  }
  return keep
}
