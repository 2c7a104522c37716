// Every shape the api carries that the domain defines, declared once as a TypeBox schema: the
// domain's types are Static<> of these, the routes validate and serialise with them, and the web
// app's API client is typed from them (type-only: nothing here is bundled). A field added here
// reaches the engine's type, the API's answer, the web client and the exports.
import { type Static, Type } from 'typebox'
import {
  type ComponentSchema,
  type DesignChangeSchema,
  type DesignSchema,
  type LinkSchema,
  N,
  Nullable,
  OneOf,
  type ProblemSchema,
  SINCE,
  strict,
  type TrafficProfileSchema
} from './design-schemas.ts'

export {
  ComponentSchema,
  DesignChangeSchema,
  DesignSchema,
  LinkSchema,
  Nullable,
  OneOf,
  ProblemSchema,
  strict,
  Timestamp,
  TrafficProfileSchema,
  Uuid
} from './design-schemas.ts'

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
    percentiles: Type.Optional(
      OneOf(
        ['exact', 'monte-carlo'],
        `the analytic mode: how p50, p95 and p99 were obtained: exact (every station a request may meet has an exact sojourn law, composed along the paths: sums convolved, parallel calls’ slowest branch as the product of the branches’ CDFs, paths mixed), monte-carlo (sampled paths: some station has none — a timeout, variable service other than constant on several servers a queue, a finite queue, bursty arrivals) ${SINCE}`
      )
    ),
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
    detail: Type.String({ description: 'what was measured, in a sentence' }),
    applies: Type.Optional(
      Type.Literal(false, {
        description:
          'the check cannot apply to the design as it is (a database drill with no database): it does not pass, and the detail says why'
      })
    )
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
    ),
    outage: Type.Optional(
      Type.Object(
        {
          down: Type.Array(Type.String(), { description: 'the components taken as down' }),
          failingShare: Type.Number({ description: 'the share of requests that meet one of them: they fail' }),
          routes: Type.Array(Type.Object({ components: Type.Array(Type.String()), share: N }, strict), {
            description: 'the routes that fail (the components met, in order), largest share first'
          }),
          routesOmitted: Nullable(Type.Integer(), { description: 'failing routes left out (null: too many to list)' })
        },
        {
          ...strict,
          description:
            'a what-if with components down (present only then): overall.errorRate and throughput and the availability count their requests as failed, as the analysis’s failure scenarios do'
        }
      )
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

export type Check = Static<typeof CheckSchema>
