// The design document and traffic profile: plain data, shared by the API, the engine and reports.

export const ComponentTypes = [
  'client',
  'cdn',
  'load_balancer',
  'service',
  'cache',
  'database',
  'queue',
  'worker',
  'object_storage',
  'external'
] as const
export type ComponentType = (typeof ComponentTypes)[number]

export const Routings = ['split', 'calls'] as const
export type Routing = (typeof Routings)[number]
export const Balancings = ['pooled', 'random'] as const
export type Balancing = (typeof Balancings)[number]

export const TrafficClasses = ['read', 'write', 'both'] as const
export type TrafficClass = (typeof TrafficClasses)[number]

export interface Component {
  id: string
  type: ComponentType
  name?: string
  /** Required of every component but a client (which only sends traffic). */
  instances: number
  concurrency: number
  serviceTimeMs: number
  /** cache and cdn: the fraction of reads answered without going further. */
  hitRatio?: number
  /** database: read replicas beside the primary. */
  replicas?: number
  /**
   * How outgoing links are taken: `split` sends each request down exactly one link (chosen by
   * share; shares sum to 1), `calls` follows each link on its own with probability share.
   * Default: split for a load balancer, calls for every other type.
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
  /** One instance's availability (0–1); default by type (src/domain/analysis.ts). */
  availability?: number
  /** One instance's monthly cost (USD); default by type (src/domain/analysis.ts). */
  costPerMonth?: number
  /** Where the web app and the report draw the component; the engine ignores them. */
  x?: number
  y?: number
}

/** The routing a component uses when it states none. */
export const routingOf = (c: Pick<Component, 'type' | 'routing'>): Routing =>
  c.routing ?? (c.type === 'load_balancer' ? 'split' : 'calls')

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

/** Bandwidth of a link that states a latency but no bandwidth. */
export const DEFAULT_BANDWIDTH_MBPS = 1000

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

export const LIMITS = Object.freeze({
  components: 500,
  links: 2000,
  idLength: 40,
  nameLength: 80,
  instances: 1000,
  concurrency: 1000,
  serviceTimeMs: { min: 0.01, max: 60_000 },
  replicas: 15,
  serviceTimeCv: 10,
  queueLimit: 100_000,
  linkLatencyMs: 600_000,
  costPerMonth: 10_000_000,
  zones: 6,
  timeoutMs: 600_000,
  retries: 10,
  /** Links with a timeout: each costs the run a sampled estimate of what happens below it. */
  timeoutLinks: 20,
  bandwidthMbps: { min: 0.001, max: 1_000_000 },
  /** The most a drawn position (x or y) may be from the origin. */
  canvas: 100_000,
  peakRps: 1_000_000,
  /** The most components one cycle (strongly connected group) may join: its equations are solved densely. */
  cycleComponents: 100,
  /** Expected station visits per request, whatever the load: fan-out that multiplies beyond this is refused. */
  visitsPerRequest: 500,
  /** Expected sampler steps per request (visits plus the links drawn at each): bounds a run's work. */
  workPerRequest: 1000,
  /**
   * Steps one traversal of every link with a timeout takes, on its own terms (the work below the
   * link, times its attempts), summed: each is sampled thousands of times however rarely it is taken.
   */
  timeoutWork: 2500,
  /** Sampler and event steps one engine run may take before it is stopped. */
  engineSteps: 50_000_000
})

export interface Problem {
  path: string
  message: string
}
