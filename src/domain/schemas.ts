// Every shape the api carries that the domain defines, declared once as a TypeBox schema: the
// domain's types are Static<> of these, the routes validate and serialise with them, and the web
// app's API client is typed from them (type-only: nothing here is bundled). A field added here
// reaches the engine's type, the API's answer, the web client and the exports.
import { type Static, type TSchema, Type } from 'typebox'
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
const N = Type.Number()
export const strict = { additionalProperties: false } as const
/** A field stored results made before it lack: absent there, always present in new ones. */
const SINCE = '(absent on runs made before it)'

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

// What a run computes (src/domain/engine.ts) and what the analysis adds (src/domain/analysis.ts).

export const QueueBacklogSchema = Type.Object(
  {
    consumersUtilization: Type.Number({ description: 'the busiest consumer’s utilisation' }),
    growthPerSecond: Type.Number({
      description: 'messages a second past the consumers’ capacity; 0 when they keep up'
    }),
    lagMs: Nullable(N, {
      description: 'mean enqueue-to-done time at the slowest consumer; null when the backlog grows without bound'
    })
  },
  { ...strict, description: 'a queue with consumers: how they keep up (work after a queue is off the request’s path)' }
)

export const ComponentOverloadSchema = Type.Object(
  {
    servedRps: Type.Number({ description: 'what it serves: its capacity' }),
    queueGrowthRps: Type.Number({ description: 'requests a second its queue grows by: arrivals past its capacity' }),
    waitGrowthMsPerSecond: Type.Number({ description: 'how much longer a request waits for each second it runs so' })
  },
  { ...strict, description: 'a saturated component: what is known where its latency is unbounded' }
)

export const ComponentResultSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    arrivalRps: N,
    utilization: Type.Number({ description: 'its busiest copy’s' }),
    meanLatencyMs: Nullable(N, { description: 'time spent there, waiting and served; null when unbounded' }),
    p95LatencyMs: Nullable(N, { description: 'null when unbounded' }),
    saturated: Type.Boolean(),
    unbounded: Type.Optional(
      Type.Literal(true, {
        description: 'saturated: no steady state, so its latency figures are null and `overload` says what is known'
      })
    ),
    overload: Type.Optional(ComponentOverloadSchema),
    lossRate: Type.Optional(
      Type.Number({
        description: `share of its arrivals the component loses (finite queue full, or saturated) ${SINCE}`
      })
    ),
    backlog: Type.Optional(QueueBacklogSchema)
  },
  strict
)

export const LinkResultSchema = Type.Object(
  {
    from: Type.String(),
    to: Type.String(),
    timeoutShare: Type.Number({ description: 'share of attempts that take longer than timeoutMs' }),
    retryAmplification: Type.Number({
      description:
        'attempts per traversal, (1 − f^(R+1)) / (1 − f) with f the share of attempts that fail (time out or are lost below): the load below is multiplied by it'
    }),
    failedShare: Type.Number({ description: 'traversals whose last attempt timed out (or was lost below)' })
  },
  { ...strict, description: 'a link with a timeout: how often its attempts time out, and what its retries cost' }
)

/** A 95 % confidence interval (Student's t over independent replications). */
export const IntervalSchema = Type.Object({ low: N, high: N }, strict)

export const ConfidenceSchema = Type.Object(
  {
    replications: Type.Integer(),
    warmupRequests: Type.Integer({ description: 'requests each replication runs before it records any' }),
    meanLatencyMs: IntervalSchema,
    p95: IntervalSchema
  },
  { ...strict, description: 'the discrete-event mode only: 95 % intervals over independent replications' }
)

/** An end-to-end latency figure: null when the requests it covers cross a saturated station. */
const Latency = Nullable(N, { description: 'null when unbounded (the requests it covers cross a saturated station)' })

export const OverallSchema = Type.Object(
  {
    p50: Latency,
    p95: Latency,
    p99: Latency,
    meanLatencyMs: Latency,
    throughputRps: N,
    errorRate: N,
    bottleneck: Nullable(Type.String()),
    maxSustainableRps: N,
    singlePointsOfFailure: Type.Array(Type.String()),
    unbounded: Type.Optional(
      Type.Literal(true, { description: 'some served requests cross a saturated station: their latency is unbounded' })
    ),
    overload: Type.Optional(
      Type.Object(
        {
          unboundedShare: Type.Number({ description: 'share of served requests whose latency is unbounded' }),
          queueGrowthRps: Type.Number({ description: 'requests a second the saturated stations’ queues grow by' })
        },
        strict
      )
    )
  },
  strict
)

export const SimulationResultSchema = Type.Object(
  {
    mode: OneOf(['analytic', 'discrete-event']),
    seed: Type.Integer(),
    samples: Type.Integer(),
    components: Type.Array(ComponentResultSchema),
    links: Type.Optional(
      Type.Array(LinkResultSchema, { description: 'links with a timeout (absent when the design has none)' })
    ),
    confidence: Type.Optional(ConfidenceSchema),
    overall: OverallSchema
  },
  strict
)

export const SweepPointSchema = Type.Object(
  {
    rps: N,
    p50: Latency,
    p95: Latency,
    p99: Latency,
    errorRate: N,
    maxUtilization: Type.Number({ description: 'the busiest station’s utilisation at this load' })
  },
  strict
)

export const CrossingSchema = Type.Object(
  {
    component: Type.String(),
    utilization: Type.Number({ description: 'the threshold crossed: 0.7, 0.9 or 1' }),
    rps: N
  },
  strict
)

export const FailureScenarioSchema = Type.Object(
  {
    component: Type.String({ description: 'the component, or `zone:<name>` for a whole zone' }),
    lost: OneOf(
      ['instance', 'primary', 'zone'],
      'one of its instances, (a replicated type with one instance) its primary, or a zone'
    ),
    outage: Type.Boolean({ description: 'nothing left to fail over to: the requests that need it fail' }),
    p95: Nullable(N),
    errorRate: N,
    sloHolds: Type.Boolean()
  },
  strict
)

/** What set a suggested size: the headroom, waiting, one instance lost, the minimum of two, or the SLO. */
export const SIZING_BINDINGS = ['headroom', 'waiting', 'one_lost', 'minimum', 'slo'] as const

export const SuggestionSchema = Type.Object(
  {
    component: Type.String(),
    instances: Type.Integer(),
    suggested: Type.Integer(),
    costDeltaPerMonth: N,
    binding: Type.Optional(OneOf(SIZING_BINDINGS, `the requirement that set the size ${SINCE}`)),
    reason: Type.String()
  },
  strict
)

export const AvailabilitySchema = Type.Object({ fraction: N, nines: N, downtimeMinutesPerMonth: N }, strict)

export const CostSchema = Type.Object(
  {
    perMonth: N,
    perMillionRequests: N,
    byComponent: Type.Array(Type.Object({ component: Type.String(), perMonth: N }, strict))
  },
  strict
)

export const AnalysisSchema = Type.Object(
  {
    sweep: Type.Array(SweepPointSchema, {
      description: 'p50/p95/p99, errors and the busiest utilisation from a twentieth of peak to past the ceiling'
    }),
    breaksFirst: Type.Array(CrossingSchema, {
      description: 'each component’s crossings of utilisation 0.7, 0.9 and 1, in the order load reaches them'
    }),
    sloBreakRps: Nullable(N, {
      description: 'the smallest load whose p95 misses the SLO (or that loses requests); null: not within the sweep'
    }),
    failures: Type.Array(FailureScenarioSchema),
    failuresOmitted: Type.Integer({ description: 'failure scenarios left out (the busiest components go first)' }),
    availability: AvailabilitySchema,
    cost: CostSchema,
    suggestions: Type.Array(SuggestionSchema),
    sized: Type.Optional(
      Nullable(Type.Object({ p95: Latency, errorRate: N, sloHolds: Type.Boolean() }, strict), {
        description: `the design with every suggested size, simulated at peak (null when not simulated) ${SINCE}`
      })
    )
  },
  {
    ...strict,
    description: 'what breaks first, failures, availability, cost and suggested sizes (runs since the analysis)'
  }
)

export const CheckSchema = Type.Object(
  {
    id: Type.String({ description: 'p95_at_peak, p99_at_peak, availability, budget, drill_<drill>, growth' }),
    title: Type.String(),
    passed: Type.Boolean(),
    measured: Nullable(N, { description: 'what the model measured (null: nothing to measure, or unbounded)' }),
    required: N,
    unit: OneOf(['ms', 'fraction', 'usd_per_month']),
    detail: Type.String({ description: 'what was measured, in a sentence' })
  },
  strict
)

/** What a run stores: the engine's result and its analysis. */
export const RunResultSchema = Type.Object(
  {
    ...SimulationResultSchema.properties,
    analysis: Type.Optional(AnalysisSchema),
    modelVersion: Type.Optional(
      Type.Integer({ description: 'the model that computed it; absent or lower than the current: an older model' })
    ),
    checks: Type.Optional(
      Type.Array(CheckSchema, { description: 'an exercise attempt’s run: its checks, measured (absent otherwise)' })
    )
  },
  strict
)

/** Quick feedback while editing: the analytic figures, what breaks first, availability and cost. */
export const PreviewSchema = Type.Object(
  {
    overall: OverallSchema,
    components: Type.Array(ComponentResultSchema),
    breaksFirst: AnalysisSchema.properties.breaksFirst,
    availability: AvailabilitySchema,
    cost: CostSchema,
    links: Type.Optional(
      Type.Array(Type.Object({ from: Type.String(), to: Type.String(), rps: N }, strict), {
        description: 'requests per second over each link at the profile, as offered (before anything sheds)'
      })
    )
  },
  strict
)

export type ComponentDocument = Static<typeof ComponentSchema>
export type Link = Static<typeof LinkSchema>
export type DesignDocument = Static<typeof DesignSchema>
export type TrafficProfile = Static<typeof TrafficProfileSchema>
export type Problem = Static<typeof ProblemSchema>
export type DesignChange = Static<typeof DesignChangeSchema>

// A result as stored may come from an older run (the schemas' optional "since" fields); the types
// below are the results as this code makes them: those fields present.
/** T with the fields K, optional in what is stored, present. */
type Made<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>

export type ComponentResult = Made<Static<typeof ComponentResultSchema>, 'lossRate'>
export type QueueBacklog = Static<typeof QueueBacklogSchema>
export type LinkResult = Static<typeof LinkResultSchema>
export type Interval = Static<typeof IntervalSchema>
export type Confidence = Static<typeof ConfidenceSchema>
export type Overall = Static<typeof OverallSchema>
export type SimulationResult = Omit<Static<typeof SimulationResultSchema>, 'components'> & {
  components: ComponentResult[]
}
export type SweepPoint = Static<typeof SweepPointSchema>
export type Crossing = Static<typeof CrossingSchema>
export type FailureScenario = Static<typeof FailureScenarioSchema>
export type SizingBinding = (typeof SIZING_BINDINGS)[number]
export type Suggestion = Made<Static<typeof SuggestionSchema>, 'binding'>
export type Analysis = Omit<Made<Static<typeof AnalysisSchema>, 'sized'>, 'suggestions'> & { suggestions: Suggestion[] }
export type DesignPreview = Omit<Static<typeof PreviewSchema>, 'components'> & { components: ComponentResult[] }

// Stored results as they are (the api answers them so).
export type StoredResult = Static<typeof RunResultSchema>
export type StoredComponentResult = Static<typeof ComponentResultSchema>

// Exercises (issue 37): what an exercise requires, and an attempt's checks against it.

export const DRILLS = ['instance', 'zone', 'database_primary'] as const
export type Drill = (typeof DRILLS)[number]

export const RequirementsSchema = Type.Object(
  {
    peakRps: Type.Number({ minimum: 0.001, description: 'the load the design must carry' }),
    peakEstimate: Type.String({ description: 'how the peak was estimated, back of the envelope' }),
    readRatio: Type.Number({ minimum: 0, maximum: 1 }),
    payloadKb: Type.Number({ minimum: 0 }),
    p95Ms: Type.Number({ minimum: 0.001, description: 'the p95 SLO at peak (the traffic profile’s latencySloMs)' }),
    p99Ms: Type.Number({ minimum: 0.001, description: 'the p99 SLO at peak' }),
    availabilityTarget: Type.Number({ minimum: 0.9, maximum: 0.999999 }),
    budgetPerMonth: Type.Number({ minimum: 0, description: 'USD a month' }),
    drills: Type.Array(OneOf(DRILLS), {
      minItems: 1,
      uniqueItems: true,
      description: 'the failures the design must survive at peak with its p95 SLO and no errors'
    }),
    growth: Type.Optional(
      Type.Object(
        {
          factor: Type.Number({ minimum: 1.1, maximum: 100 }),
          statement: Type.String({ description: 'the story: "then traffic triples"' })
        },
        { ...strict, description: 'the design must also hold its p95 SLO with no errors at factor × peak' }
      )
    )
  },
  strict
)

export type Requirements = Static<typeof RequirementsSchema>
export type Check = Static<typeof CheckSchema>
