// What a design may hold: the bounds of every field, and the catalogue of component types — per
// type its label, icon, traits, the values a new one starts with, and its default availability and
// cost. Plain data with no imports: the api, the engine, the worker, the web app and the docs read
// the same list. A catalogue is always passed in (defaulting to CATALOGUE), never looked up from
// module state, so a test can hand the app and the web build one with a type more.

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

/** The bounds of a traffic profile's figures (the api's schema and the web form's). */
export const TRAFFIC_BOUNDS = Object.freeze({
  /** At least 0.001 (one request in about 17 minutes): below it, per-request figures overflow. */
  peakRps: { min: 0.001, max: LIMITS.peakRps },
  readRatio: { min: 0, max: 1 },
  payloadKb: { min: 0, max: 1_048_576 },
  latencySloMs: { min: 0.001, max: 3_600_000 },
  budgetPerMonth: { min: 0, max: 1e9 },
  availabilityTarget: { min: 0.9, max: 0.999999 },
  arrivalCv: { min: 0, max: 5 }
})

/** A component id or zone name: a-z, 0-9, _ and -, starting with a letter or digit (at most LIMITS.idLength). */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]*$'

/** Bandwidth of a link that states a latency but no bandwidth. */
export const DEFAULT_BANDWIDTH_MBPS = 1000

export const Routings = ['split', 'calls'] as const
export type Routing = (typeof Routings)[number]
/** How a component makes its calls (routing `calls`): one after another, or all at once (fork-join). */
export const CallModes = ['sequential', 'parallel'] as const
export type CallMode = (typeof CallModes)[number]
export const Balancings = ['pooled', 'random'] as const
export type Balancing = (typeof Balancings)[number]
export const TrafficClasses = ['read', 'write', 'both'] as const
export type TrafficClass = (typeof TrafficClasses)[number]

/** What a type does beyond being a station with servers, by name; the docs table lists them. */
export const TRAITS = Object.freeze({
  source: 'sends the traffic profile’s requests: it has nothing to size, no station, and nothing links to it',
  absorbsReads: 'answers `hitRatio` of the reads itself; the rest go on',
  replicated: 'one station per copy: writes go to the primary, reads spread over it and its `replicas`',
  asynchronous: 'hands the request off: what follows is off its latency path, and it reports its consumers’ backlog',
  thirdParty: 'run by someone else: never a single point of failure of the design'
})
export type Trait = keyof typeof TRAITS

/** A numeric field of a component: its bounds (checked with a 422), and how the editor's form shows it. */
export interface NumberField {
  label: string
  /** What it means, for the API's documentation. */
  description: string
  integer?: boolean
  min: number
  /** The least value itself is refused (an availability must be above 0). */
  aboveMin?: boolean
  max: number
  /** Named in the message of a value out of bounds. */
  unit?: string
  /** The form's step (default: 1 for an integer, any otherwise). */
  step?: string
  /** Shown under the form's field. */
  hint?: string
  /** Every component but a source must state it. */
  required?: boolean
  /** Only a type with this trait has the field. */
  trait?: Trait
  /** The field in a sentence ("only a cache or cdn has a hit ratio"). */
  noun?: string
}

export const COMPONENT_FIELDS = Object.freeze({
  instances: {
    label: 'Instances',
    description: 'copies of the component',
    integer: true,
    min: 1,
    max: LIMITS.instances,
    required: true
  },
  concurrency: {
    label: 'Concurrency per instance',
    description: 'requests one instance serves at once',
    integer: true,
    min: 1,
    max: LIMITS.concurrency,
    required: true
  },
  serviceTimeMs: {
    label: 'Service time (ms)',
    description: 'mean time to serve one request',
    min: LIMITS.serviceTimeMs.min,
    max: LIMITS.serviceTimeMs.max,
    unit: 'ms',
    required: true
  },
  hitRatio: {
    label: 'Hit ratio',
    description: 'the share of reads answered without going further',
    min: 0,
    max: 1,
    step: '0.01',
    trait: 'absorbsReads',
    noun: 'a hit ratio'
  },
  replicas: {
    label: 'Read replicas',
    description: 'read replicas beside the primary',
    integer: true,
    min: 0,
    max: LIMITS.replicas,
    trait: 'replicated',
    noun: 'replicas'
  },
  serviceTimeCv: {
    label: 'Service-time variability (CV)',
    description:
      'coefficient of variation of the service time: 1 (default) exponential, 0 constant, above 1 heavier tails',
    min: 0,
    max: LIMITS.serviceTimeCv,
    step: '0.1',
    hint: '1 = exponential (default), 0 = constant'
  },
  queueLimit: {
    label: 'Queue limit',
    description:
      'requests that may wait (not in service) at once, across instances; past it arrivals are lost. Default: unbounded',
    integer: true,
    min: 0,
    max: LIMITS.queueLimit,
    hint: 'empty = unbounded'
  },
  availability: {
    label: 'Availability of one instance',
    description: 'one instance’s availability (a month’s uptime share); default by type',
    min: 0,
    aboveMin: true,
    max: 1,
    step: 'any',
    hint: 'a fraction, e.g. 0.999; empty = the type’s default'
  },
  costPerMonth: {
    label: 'Cost of one instance (USD a month)',
    description: 'one instance’s monthly cost in USD; default by type',
    min: 0,
    max: LIMITS.costPerMonth,
    hint: 'empty = the type’s default'
  }
} satisfies Record<string, NumberField>)
export type ComponentField = keyof typeof COMPONENT_FIELDS

/** A component type. */
export interface ComponentKind {
  label: string
  /** The name of its icon (the web app and the report draw it). */
  icon: string
  /** One line on what it stands for, for the docs table. */
  summary: string
  traits: readonly Trait[]
  /** How its outgoing links are taken when it states no `routing`. */
  routing: Routing
  /** One instance's availability and monthly cost (USD) when it states none. */
  availability: number
  costPerMonth: number
  /** What a new one starts with in the editor: a plausible small deployment. */
  defaults: {
    instances?: number
    concurrency?: number
    serviceTimeMs?: number
    hitRatio?: number
    replicas?: number
    delay?: boolean
  }
}

/** Component types by the `type` a design names them with, in the order the palette offers them. */
export type Catalogue = Readonly<Record<string, ComponentKind>>

export const CATALOGUE: Catalogue = Object.freeze({
  client: {
    label: 'Client',
    icon: 'client',
    summary: 'the users: where the traffic profile’s requests come from',
    traits: ['source'],
    routing: 'calls',
    availability: 1,
    costPerMonth: 0,
    defaults: {}
  },
  cdn: {
    label: 'CDN',
    icon: 'cdn',
    summary: 'an edge cache in front of everything',
    traits: ['absorbsReads'],
    routing: 'calls',
    availability: 0.9999,
    costPerMonth: 50,
    defaults: { instances: 2, concurrency: 1000, serviceTimeMs: 2, hitRatio: 0.9 }
  },
  load_balancer: {
    label: 'Load balancer',
    icon: 'load_balancer',
    summary: 'spreads requests over the components behind it',
    traits: [],
    routing: 'split',
    availability: 0.9999,
    costPerMonth: 20,
    defaults: { instances: 2, concurrency: 500, serviceTimeMs: 0.5 }
  },
  service: {
    label: 'Service',
    icon: 'service',
    summary: 'an application server',
    traits: [],
    routing: 'calls',
    availability: 0.999,
    costPerMonth: 70,
    defaults: { instances: 2, concurrency: 8, serviceTimeMs: 20 }
  },
  cache: {
    label: 'Cache',
    icon: 'cache',
    summary: 'an in-memory cache beside a service',
    traits: ['absorbsReads'],
    routing: 'calls',
    availability: 0.999,
    costPerMonth: 50,
    defaults: { instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8 }
  },
  database: {
    label: 'Database',
    icon: 'database',
    summary: 'a primary with read replicas',
    traits: ['replicated'],
    routing: 'calls',
    availability: 0.9995,
    costPerMonth: 200,
    defaults: { instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  },
  queue: {
    label: 'Queue',
    icon: 'queue',
    summary: 'a message queue; its consumers are the components it links to',
    traits: ['asynchronous'],
    routing: 'calls',
    availability: 0.9995,
    costPerMonth: 30,
    defaults: { instances: 2, concurrency: 100, serviceTimeMs: 2 }
  },
  worker: {
    label: 'Worker',
    icon: 'worker',
    summary: 'a background consumer',
    traits: [],
    routing: 'calls',
    availability: 0.999,
    costPerMonth: 70,
    defaults: { instances: 2, concurrency: 4, serviceTimeMs: 50 }
  },
  object_storage: {
    label: 'Object storage',
    icon: 'object_storage',
    summary: 'a blob store',
    traits: [],
    routing: 'calls',
    availability: 0.99999,
    costPerMonth: 25,
    defaults: { instances: 3, concurrency: 100, serviceTimeMs: 30 }
  },
  external: {
    label: 'External API',
    icon: 'external',
    summary: 'a third party’s API; a new one is a pure delay',
    traits: ['thirdParty'],
    routing: 'calls',
    availability: 0.999,
    costPerMonth: 0,
    defaults: { instances: 1, concurrency: 50, serviceTimeMs: 120, delay: true }
  }
} satisfies Catalogue)

/** The catalogue's entry for a type; undefined for a type it does not list (never an inherited property). */
export const kindOf = (catalogue: Catalogue, type: string): ComponentKind | undefined =>
  Object.hasOwn(catalogue, type) ? catalogue[type] : undefined

export const hasTrait = (catalogue: Catalogue, type: string, trait: Trait): boolean =>
  kindOf(catalogue, type)?.traits.includes(trait) ?? false

/** The types with a trait, in the catalogue's order. */
export const typesWith = (catalogue: Catalogue, trait: Trait): string[] =>
  Object.keys(catalogue).filter((type) => hasTrait(catalogue, type, trait))

/** The numeric fields a component of this type has, in the form's order. */
export function fieldsOf(catalogue: Catalogue, type: string): ComponentField[] {
  if (hasTrait(catalogue, type, 'source')) return []
  return (Object.keys(COMPONENT_FIELDS) as ComponentField[]).filter((key) => {
    const trait = (COMPONENT_FIELDS[key] as NumberField).trait
    return trait === undefined || hasTrait(catalogue, type, trait)
  })
}

/** The routing a component uses when it states none. */
export const routingOf = (c: { type: string; routing?: Routing }, catalogue: Catalogue = CATALOGUE): Routing =>
  c.routing ?? kindOf(catalogue, c.type)?.routing ?? 'calls'

/** A value's bounds in words: "an integer from 1 to 1000", "above 0 and at most 1", "from 0.01 to 60000 ms". */
export function boundsText(field: NumberField): string {
  if (field.integer) return `an integer from ${field.min} to ${field.max}`
  if (field.aboveMin) return `above ${field.min} and at most ${field.max}`
  return `from ${field.min} to ${field.max}${field.unit ? ` ${field.unit}` : ''}`
}

/** Whether a value is within a numeric field's bounds. */
export function withinBounds(field: NumberField, value: number): boolean {
  const above = field.aboveMin ? value > field.min : value >= field.min
  return (field.integer ? Number.isInteger(value) : true) && above && value <= field.max
}
