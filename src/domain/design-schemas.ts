// The design and its traffic profile as TypeBox schemas, and the helpers every schema file shares
// (./schemas.ts re-exports them: import the domain's shapes from there).
import { type TSchema, Type } from 'typebox'
import {
  Balancings,
  boundsText,
  CallModes,
  COMPONENT_FIELDS,
  type ComponentField,
  DEFAULT_BANDWIDTH_MBPS,
  ID_PATTERN,
  LIMITS,
  type NumberField,
  Routings,
  TRAFFIC_BOUNDS,
  TrafficClasses
} from './components.ts'

export const Uuid = Type.String({ format: 'uuid' })
export const Timestamp = Type.String({ format: 'date-time' })
export const Nullable = <T extends TSchema>(t: T, options: { title?: string; description?: string } = {}) =>
  Type.Union([t, Type.Null()], options)
/** One of a list of strings (an `as const` enumeration). */
export const OneOf = <const T extends string[]>(values: readonly [...T], description?: string) =>
  Type.Enum(values, description ? { description } : {})
export const N = Type.Number()
export const strict = { additionalProperties: false } as const
/** A field stored results made before it lack: absent there, always present in new ones. */
export const SINCE = '(absent on runs made before it)'

// The design: shape only (lengths and counts); the bounds of each value are the domain's, checked
// with every problem at once (422) by validateDesign.

/** A component's numeric field, described from the catalogue's field list. */
const numberField = (key: ComponentField) => {
  const f: NumberField = COMPONENT_FIELDS[key]
  const who = f.trait
    ? `; only a type with the trait ${f.trait}`
    : f.required
      ? '; required of every component but a client'
      : ''
  return Type.Optional(Type.Number({ description: `${f.description}: ${boundsText(f)}${who}` }))
}

export const ComponentSchema = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: LIMITS.idLength,
      description: `unique in the design; matches ${ID_PATTERN}`
    }),
    type: Type.String({ maxLength: 40, description: 'a type of the catalogue (docs/simulation.md)' }),
    name: Type.Optional(Type.String({ maxLength: LIMITS.nameLength })),
    instances: numberField('instances'),
    concurrency: numberField('concurrency'),
    serviceTimeMs: numberField('serviceTimeMs'),
    hitRatio: numberField('hitRatio'),
    replicas: numberField('replicas'),
    routing: Type.Optional(
      OneOf(
        Routings,
        'split (each request takes exactly one outgoing link, by share; shares sum to 1) or calls (each link taken on its own with probability share). Default: the type’s (split for a load_balancer, calls otherwise).'
      )
    ),
    calls: Type.Optional(
      OneOf(
        CallModes,
        'how its calls (routing calls) are made: sequential (default: one after another, their latencies add up) or parallel (all at once: it waits for the slowest)'
      )
    ),
    balancing: Type.Optional(
      OneOf(
        Balancings,
        'pooled (default: one queue for all instances, least-outstanding balancing) or random (a queue per instance, arrivals spread at random)'
      )
    ),
    serviceTimeCv: numberField('serviceTimeCv'),
    queueLimit: numberField('queueLimit'),
    delay: Type.Optional(
      Type.Boolean({
        description:
          'a pure delay (M/G/∞: each request spends the service time, nothing queues), for external APIs and object stores; default false'
      })
    ),
    zones: Type.Optional(
      Type.Array(Type.String({ maxLength: LIMITS.idLength }), {
        maxItems: 100,
        description: `failure domains its instances are spread over, round robin (instance i in zones[i mod n]): 1 to ${LIMITS.zones} distinct names matching ${ID_PATTERN}`
      })
    ),
    availability: numberField('availability'),
    costPerMonth: numberField('costPerMonth'),
    x: Type.Optional(
      Type.Number({ description: `where the web app draws it, ±${LIMITS.canvas}; the engine ignores it` })
    ),
    y: Type.Optional(
      Type.Number({ description: `where the web app draws it, ±${LIMITS.canvas}; the engine ignores it` })
    )
  },
  strict
)

export const LinkSchema = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: LIMITS.idLength }),
    to: Type.String({ minLength: 1, maxLength: LIMITS.idLength }),
    share: Type.Optional(
      Type.Number({
        description:
          'under calls routing, the fraction of the requests reaching `from` (of this class) that also go to `to`; under split, the fraction sent to `to` rather than the other targets. Above 0, at most 1; default 1'
      })
    ),
    traffic: Type.Optional(OneOf(TrafficClasses, 'the requests it carries: read, write or both (default)')),
    latencyMs: Type.Optional(
      Type.Number({ description: `network time of one traversal, 0 to ${LIMITS.linkLatencyMs} ms; default none` })
    ),
    timeoutMs: Type.Optional(
      Type.Number({
        description: `an attempt times out when what happens below the link takes longer (0 < timeoutMs ≤ ${LIMITS.timeoutMs}); the timed-out attempt keeps its stations busy and is retried at once`
      })
    ),
    retries: Type.Optional(
      Type.Number({ description: `retries after a timeout, 0 to ${LIMITS.retries} (default 0); needs timeoutMs` })
    ),
    bandwidthMbps: Type.Optional(
      Type.Number({
        description: `a traversal adds payloadKb at this rate (default ${DEFAULT_BANDWIDTH_MBPS} when latencyMs is set); a link with neither field adds no network time`
      })
    )
  },
  strict
)

export const DesignSchema = Type.Object(
  {
    components: Type.Array(ComponentSchema, { maxItems: LIMITS.components }),
    links: Type.Array(LinkSchema, { maxItems: LIMITS.links })
  },
  strict
)

/**
 * A design as a change to the stored one (src/domain/design-change.ts): what a page sends as it
 * closes, in a keepalive request whose body must stay under 64 KB.
 */
export const DesignChangeSchema = Type.Object(
  {
    components: Type.Optional(
      Type.Array(ComponentSchema, {
        maxItems: LIMITS.components,
        description: 'components added or changed, each whole, matched by id (a new id is added at the end)'
      })
    ),
    removed: Type.Optional(
      Type.Array(Type.String({ maxLength: LIMITS.idLength }), {
        maxItems: LIMITS.components,
        description: 'ids of the components removed'
      })
    ),
    links: Type.Optional(
      Type.Array(LinkSchema, { maxItems: LIMITS.links, description: 'every link, when they changed' })
    )
  },
  strict
)

/** A traffic field: its bounds, and the name and unit a refusal says it with (src/validation-problems.ts). */
const bounded = (title: string, b: { min: number; max: number }, unit?: string, description?: string) => ({
  title,
  minimum: b.min,
  maximum: b.max,
  ...(unit ? { 'x-unit': unit } : {}),
  ...(description ? { description } : {})
})

export const TrafficProfileSchema = Type.Object(
  {
    peakRps: Type.Number(
      bounded(
        'Peak traffic',
        TRAFFIC_BOUNDS.peakRps,
        'requests a second',
        'at least 0.001: one request in about 17 minutes'
      )
    ),
    readRatio: Type.Number(bounded('Share of reads', TRAFFIC_BOUNDS.readRatio)),
    payloadKb: Type.Number(bounded('Payload', TRAFFIC_BOUNDS.payloadKb, 'kB')),
    latencySloMs: Type.Number(bounded('p95 latency SLO', TRAFFIC_BOUNDS.latencySloMs, 'ms')),
    budgetPerMonth: Type.Optional(
      Nullable(Type.Number(bounded('Monthly budget', TRAFFIC_BOUNDS.budgetPerMonth, 'US dollars')), {
        title: 'Monthly budget',
        description: 'a monthly budget in USD the grade holds the design’s cost to; null or absent: none'
      })
    ),
    arrivalCv: Type.Optional(
      Type.Number(
        bounded(
          'Burstiness of arrivals',
          TRAFFIC_BOUNDS.arrivalCv,
          undefined,
          'coefficient of variation of the time between requests: 1 (default) Poisson, below 1 smoother (Erlang), above 1 bursty (hyperexponential)'
        )
      )
    ),
    availabilityTarget: Type.Optional(
      Nullable(Type.Number(bounded('Availability target', TRAFFIC_BOUNDS.availabilityTarget)), {
        title: 'Availability target',
        description: 'the availability the grade holds the design to, as a fraction; null or absent: 0.999'
      })
    )
  },
  strict
)

export const ProblemSchema = Type.Object({ path: Type.String(), message: Type.String() }, strict)
