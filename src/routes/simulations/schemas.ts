import { type TSchema, Type } from 'typebox'
import { SIZING_BINDINGS } from '../../domain/analysis.ts'
import { Uuid } from '../../schemas.ts'

export const Status = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed')
])

export const ComponentResult = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    arrivalRps: Type.Number(),
    utilization: Type.Number(),
    meanLatencyMs: Type.Number(),
    p95LatencyMs: Type.Number(),
    saturated: Type.Boolean(),
    lossRate: Type.Optional(
      Type.Number({ description: 'share of its arrivals the component loses (finite queue full, or saturated)' })
    ),
    backlog: Type.Optional(
      Type.Object(
        {
          consumersUtilization: Type.Number(),
          growthPerSecond: Type.Number({
            description: 'messages a second past the consumers’ capacity; 0 when they keep up'
          }),
          lagMs: Type.Union([Type.Number(), Type.Null()], {
            description: 'mean enqueue-to-done time at the slowest consumer; null when the backlog grows without bound'
          })
        },
        { additionalProperties: false, description: 'a queue with consumers: how they keep up' }
      )
    )
  },
  { additionalProperties: false }
)
export const Overall = Type.Object(
  {
    p50: Type.Number(),
    p95: Type.Number(),
    p99: Type.Number(),
    meanLatencyMs: Type.Number(),
    throughputRps: Type.Number(),
    errorRate: Type.Number(),
    bottleneck: Type.Union([Type.String(), Type.Null()]),
    maxSustainableRps: Type.Number(),
    singlePointsOfFailure: Type.Array(Type.String())
  },
  { additionalProperties: false }
)
const N = Type.Number()
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
export const Analysis = Type.Object(
  {
    sweep: Type.Array(
      Type.Object({ rps: N, p50: N, p95: N, p99: N, errorRate: N, maxUtilization: N }, { additionalProperties: false }),
      { description: 'p50/p95/p99, errors and the busiest utilisation from a twentieth of peak to past the ceiling' }
    ),
    breaksFirst: Type.Array(
      Type.Object({ component: Type.String(), utilization: N, rps: N }, { additionalProperties: false }),
      { description: 'each component’s crossings of utilisation 0.7, 0.9 and 1, in the order load reaches them' }
    ),
    sloBreakRps: Nullable(
      Type.Number({ description: 'the smallest load whose p95 misses the SLO (or that loses requests)' })
    ),
    failures: Type.Array(
      Type.Object(
        {
          component: Type.String(),
          lost: Type.Union([Type.Literal('instance'), Type.Literal('primary'), Type.Literal('zone')]),
          outage: Type.Boolean(),
          p95: Nullable(N),
          errorRate: N,
          sloHolds: Type.Boolean()
        },
        { additionalProperties: false }
      )
    ),
    failuresOmitted: Type.Integer(),
    availability: Type.Object({ fraction: N, nines: N, downtimeMinutesPerMonth: N }, { additionalProperties: false }),
    cost: Type.Object(
      {
        perMonth: N,
        perMillionRequests: N,
        byComponent: Type.Array(Type.Object({ component: Type.String(), perMonth: N }, { additionalProperties: false }))
      },
      { additionalProperties: false }
    ),
    suggestions: Type.Array(
      Type.Object(
        {
          component: Type.String(),
          instances: Type.Integer(),
          suggested: Type.Integer(),
          costDeltaPerMonth: N,
          binding: Type.Optional(
            Type.Union(
              SIZING_BINDINGS.map((b) => Type.Literal(b)),
              { description: 'the requirement that set the size (absent on runs made before it)' }
            )
          ),
          reason: Type.String()
        },
        { additionalProperties: false }
      )
    ),
    sized: Type.Optional(
      Nullable(
        Type.Object(
          { p95: N, errorRate: N, sloHolds: Type.Boolean() },
          {
            additionalProperties: false,
            description: 'the design with every suggested size, simulated at peak (absent on runs made before it)'
          }
        )
      )
    )
  },
  {
    additionalProperties: false,
    description: 'what breaks first, failures, availability, cost and suggested sizes (runs since the analysis)'
  }
)

export const Result = Type.Object(
  {
    mode: Type.String(),
    seed: Type.Integer(),
    samples: Type.Integer(),
    components: Type.Array(ComponentResult),
    links: Type.Optional(
      Type.Array(
        Type.Object(
          {
            from: Type.String(),
            to: Type.String(),
            timeoutShare: Type.Number({ description: 'share of attempts that take longer than timeoutMs' }),
            retryAmplification: Type.Number({
              description: 'attempts per traversal: the load below is multiplied by it'
            }),
            failedShare: Type.Number({ description: 'traversals whose last attempt timed out (or was lost below)' })
          },
          { additionalProperties: false }
        ),
        { description: 'links with a timeout (absent when the design has none)' }
      )
    ),
    confidence: Type.Optional(
      Type.Object(
        {
          replications: Type.Integer(),
          warmupRequests: Type.Integer(),
          meanLatencyMs: Type.Object({ low: Type.Number(), high: Type.Number() }),
          p95: Type.Object({ low: Type.Number(), high: Type.Number() })
        },
        { description: 'the discrete-event mode only: 95 % intervals over independent replications' }
      )
    ),
    overall: Overall,
    analysis: Type.Optional(Analysis)
  },
  { additionalProperties: false }
)
export const runFields = {
  id: Uuid,
  workspaceId: Uuid,
  status: Status,
  seed: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}
export const Simulation = Type.Object(
  { ...runFields, result: Type.Union([Result, Type.Null()]) },
  { additionalProperties: false }
)
/** A run in a list: its overall figures only (a 500-component result is tens of kB). */
export const SimulationSummary = Type.Object(
  {
    ...runFields,
    overall: Type.Union([Overall, Type.Null()]),
    latestGrade: Type.Union(
      [Type.Object({ id: Uuid, score: Type.Integer() }, { additionalProperties: false }), Type.Null()],
      {
        description: 'the newest completed grade of the run, if any'
      }
    )
  },
  { additionalProperties: false }
)
export const GradeItem = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    maxPoints: Type.Integer(),
    points: Type.Integer(),
    passed: Type.Boolean(),
    finding: Type.String(),
    suggestion: Type.String(),
    components: Type.Optional(
      Type.Array(Type.String(), { description: 'the components the item is about (absent on grades made before it)' })
    )
  },
  { additionalProperties: false }
)
export const Grade = Type.Object(
  {
    id: Uuid,
    simulationId: Uuid,
    status: Status,
    score: Type.Union([Type.Integer(), Type.Null()]),
    items: Type.Union([Type.Array(GradeItem), Type.Null()]),
    rubricVersion: Type.Union([Type.Integer(), Type.Null()], {
      description:
        'the rubric version that scored it (docs/simulation.md); null until completed, or graded before versions were kept'
    }),
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  },
  { additionalProperties: false }
)
