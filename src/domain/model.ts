// The design document and traffic profile: plain data, shared by the API, the engine and reports.

import { type Balancing, DEFAULT_BANDWIDTH_MBPS, type Routing, type TrafficClass } from './components.ts'

export {
  type Balancing,
  Balancings,
  DEFAULT_BANDWIDTH_MBPS,
  LIMITS,
  type Routing,
  Routings,
  routingOf,
  type TrafficClass,
  TrafficClasses
} from './components.ts'

/** A key of the catalogue the design is read with (src/domain/components.ts). */
export type ComponentType = string

export interface Component {
  id: string
  type: ComponentType
  name?: string
  /** Required of every component but a client (which only sends traffic). */
  instances: number
  concurrency: number
  serviceTimeMs: number
  /** A type that absorbs reads (cache, cdn): the fraction of reads answered without going further. */
  hitRatio?: number
  /** A replicated type (database): read replicas beside the primary. */
  replicas?: number
  /**
   * How outgoing links are taken: `split` sends each request down exactly one link (chosen by
   * share; shares sum to 1), `calls` follows each link on its own with probability share.
   * Default: the type's (split for a load balancer, calls for every other type).
   */
  routing?: Routing
  /** `pooled` (default): one queue for all instances; `random`: a queue per instance, arrivals spread at random. */
  balancing?: Balancing
  /** Coefficient of variation of the service time: 1 (default) exponential, 0 constant, > 1 heavier tails. */
  serviceTimeCv?: number
  /** The most requests that may wait (not in service) at once; past it arrivals are lost. Default: unbounded. */
  queueLimit?: number
  /**
   * A pure delay (an infinite-server station, M/G/∞): each request spends the service time there
   * and never queues; instances and concurrency do not limit it. For external APIs and object stores.
   */
  delay?: boolean
  /** Failure domains its instances are spread over, round robin (instance i in zones[i mod n]). */
  zones?: string[]
  /** One instance's availability (0–1); default by type (the catalogue). */
  availability?: number
  /** One instance's monthly cost (USD); default by type (the catalogue). */
  costPerMonth?: number
  /** Where the web app and the report draw the component; the engine ignores them. */
  x?: number
  y?: number
}

export interface Link {
  from: string
  to: string
  /**
   * Under `calls` routing, the fraction of the requests reaching `from` (of this class) that also
   * go to `to`; under `split`, the fraction sent to `to` rather than to the other targets. Default 1.
   */
  share?: number
  traffic?: TrafficClass
  /** Network time of one traversal (e.g. 75 for cross-region); with bandwidthMbps, the link carries network time. */
  latencyMs?: number
  /** The link's bandwidth: a traversal adds the traffic profile's payloadKb at this rate. Default 1000 when latencyMs is set. */
  bandwidthMbps?: number
  /**
   * An attempt down this link times out when what happens below it takes longer; the timed-out
   * attempt is not cancelled (it keeps its stations busy) and is retried at once, `retries` times.
   */
  timeoutMs?: number
  /** Retries after a timeout (default 0); a request whose last attempt times out is an error. */
  retries?: number
}

/** A link's network time per traversal (ms), or null when it states neither latency nor bandwidth. */
export function networkTimeMs(link: Link, payloadKb: number): number | null {
  if (link.latencyMs === undefined && link.bandwidthMbps === undefined) return null
  // payloadKb kilobytes are 8 × payloadKb kilobits; at B Mbit/s that is 8 × payloadKb / B milliseconds.
  return (link.latencyMs ?? 0) + (8 * payloadKb) / (link.bandwidthMbps ?? DEFAULT_BANDWIDTH_MBPS)
}

export interface Design {
  components: Component[]
  links: Link[]
}

export interface TrafficProfile {
  peakRps: number
  readRatio: number
  payloadKb: number
  latencySloMs: number
  /** A monthly budget (USD) the grade holds the design's cost to; absent or null: none. */
  budgetPerMonth?: number | null
  /** The availability the grade holds the design to (a fraction, e.g. 0.9995); absent or null: three nines. */
  availabilityTarget?: number | null
}

export const DEFAULT_TRAFFIC: TrafficProfile = Object.freeze({
  peakRps: 100,
  readRatio: 0.8,
  payloadKb: 4,
  latencySloMs: 300
})

export interface Problem {
  path: string
  message: string
}
