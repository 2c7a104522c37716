// What an exercise requires (issue 37); an attempt's checks against it are ./schemas.ts's
// CheckSchema, part of what a run stores.
import { type Static, Type } from 'typebox'
import { OneOf, strict } from './schemas.ts'

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
