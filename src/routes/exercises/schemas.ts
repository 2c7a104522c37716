import { Type } from 'typebox'

// The exercises' shapes are the domain's resources (src/domain/resources.ts); the routes' own below.
export {
  AttemptSchema as Attempt,
  ExerciseDetailSchema as ExerciseDetail,
  ExerciseSummarySchema as ExerciseSummary,
  ReferenceSchema as Reference,
  SubmissionSchema as Submission
} from '../../domain/resources.ts'

export const SlugParams = Type.Object(
  { slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 60 }) },
  { additionalProperties: false }
)

export const HintRevealed = Type.Object(
  {
    level: Type.Integer(),
    text: Type.String(),
    cost: Type.Integer({ description: 'the points this hint takes off the attempt’s grade' }),
    hintPoints: Type.Integer({ description: 'the attempt’s hint points so far' }),
    hintsLeft: Type.Integer()
  },
  { additionalProperties: false }
)

export const GaveUp = Type.Object(
  { workspaceId: Type.String({ format: 'uuid' }), givenUpAt: Type.String({ format: 'date-time' }) },
  { additionalProperties: false }
)

export const EmptyBody = Type.Object({}, { additionalProperties: false })
