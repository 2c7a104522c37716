// The shapes of a figure's derivation (issue 38): GET /simulations/:id/explain answers them, the
// web app and the HTML export show them. Declared once; src/domain/explain.ts computes them.
import { type Static, Type } from 'typebox'
import { Nullable, OneOf, strict } from './schemas.ts'

const N = Type.Number()

export const StepSchema = Type.Object(
  {
    symbol: Type.String({ description: 'what later formulas call it: λ, μ, c, a, ρ, Pw, Wq, W, p95' }),
    label: Type.String(),
    value: Nullable(N, { description: 'null: unbounded (a saturated station)' }),
    unit: Type.Optional(Type.String()),
    formula: Type.String({ description: 'how it follows from the steps before' }),
    terms: Type.Optional(
      Type.Array(Type.Object({ label: Type.String(), value: N }, strict), { description: 'what it sums' })
    )
  },
  strict
)

export const StationDerivationSchema = Type.Object(
  {
    station: Type.String({ description: '`db:primary`, `api`, …' }),
    kind: OneOf(['queue', 'delay', 'link', 'timeout']),
    steps: Type.Array(StepSchema),
    waitMethod: OneOf(['erlang_c', 'finite_queue', 'erlang_b', 'saturated', 'none']),
    p95Method: OneOf(['exact', 'sampled', 'constant', 'saturated', 'approximate']),
    p95Samples: Type.Optional(Type.Integer({ description: 'draws behind a sampled p95' }))
  },
  strict
)

export const ComponentDerivationSchema = Type.Object(
  {
    kind: Type.Literal('component'),
    component: Type.String(),
    stations: Type.Array(StationDerivationSchema),
    arrivalRps: N,
    meanLatencyMs: Nullable(N, { description: 'the λ-weighted mean of its stations’ sojourns; null when unbounded' }),
    p95LatencyMs: Nullable(N, { description: 'the largest of its stations’ p95s; null when unbounded' }),
    utilization: Type.Number({ description: 'its busiest station’s' })
  },
  strict
)

export const OverallDerivationSchema = Type.Object(
  {
    kind: Type.Literal('overall'),
    paths: Nullable(
      Type.Array(
        Type.Object(
          {
            stations: Type.Array(Type.String()),
            probability: N,
            meanMs: Nullable(N, { description: 'null: it crosses a saturated station' })
          },
          { ...strict, description: 'a kind of request path, its weight and its mean (the sum of its stations’ means)' }
        )
      ),
      { description: 'null when the paths are too many to list (they are drawn one by one)' }
    ),
    analyticMeanMs: Nullable(N, {
      description: 'Σ probability × path mean: what the sampled mean estimates; null when unbounded'
    }),
    percentiles: Type.Object(
      {
        method: OneOf(
          ['exact', 'monte_carlo', 'discrete_event'],
          'exact: composed from the stations’ exact laws (seed and samples play no part); otherwise drawn'
        ),
        samples: Type.Integer(),
        seed: Type.Integer(),
        p50: Nullable(N),
        p95: Nullable(N),
        p99: Nullable(N)
      },
      { ...strict, description: 'the end-to-end percentiles: exact, or of `samples` latencies drawn with `seed`' }
    ),
    ceiling: Type.Object(
      {
        steps: Type.Array(
          Type.Object(
            { station: Type.String(), capacityRps: N, visitRatio: N, ceilingRps: N },
            { ...strict, description: 'capacity ÷ visit ratio (offered arrivals per request): the load that fills it' }
          )
        ),
        bottleneck: Nullable(Type.String()),
        maxSustainableRps: N
      },
      { ...strict, description: 'the least ceilingRps sets the maximum sustainable throughput' }
    )
  },
  strict
)

export const DerivationSchema = Type.Union([ComponentDerivationSchema, OverallDerivationSchema])

export type Step = Static<typeof StepSchema>
export type StationDerivation = Static<typeof StationDerivationSchema>
export type ComponentDerivation = Static<typeof ComponentDerivationSchema>
export type OverallDerivation = Static<typeof OverallDerivationSchema>
export type Derivation = Static<typeof DerivationSchema>
