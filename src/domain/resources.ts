// The resources the api wraps the domain's shapes in: a workspace, its profile, a run, a grade,
// the account. The routes validate and serialise with them; the web client is typed from them.
import { type Static, Type } from 'typebox'
import { RequirementsSchema } from './exercise-schemas.ts'
import { GradeItemSchema } from './grade-schemas.ts'
import {
  CheckSchema,
  DesignSchema,
  Nullable,
  OneOf,
  OverallSchema,
  RunResultSchema,
  strict,
  Timestamp,
  TrafficProfileSchema,
  Uuid
} from './schemas.ts'

export const WorkspaceSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    design: DesignSchema,
    version: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp
  },
  strict
)

export const WorkspaceSummarySchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    version: Type.Integer(),
    components: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp
  },
  strict
)

export const TrafficProfileResourceSchema = Type.Object(
  { workspaceId: Uuid, ...TrafficProfileSchema.properties, version: Type.Integer(), updatedAt: Timestamp },
  strict
)

export const RunStatusSchema = OneOf(['queued', 'running', 'completed', 'failed'])

const N = Type.Number()

/** Predict, then simulate (issue 38): a learner's estimates before the run, each optional. */
export const PredictionsSchema = Type.Object(
  {
    p95Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3_600_000, description: 'the p95 at peak (ms)' })),
    bottleneck: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'the component (or one of the identical group) that saturates first'
      })
    ),
    maxSustainableRps: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1e9, description: 'the highest peak the design sustains (rps)' })
    )
  },
  {
    ...strict,
    description: 'predictions made before simulating; scored in the result, never part of the grade’s total'
  }
)

const PredictionScore = (unit: string, tolerance: string) =>
  Type.Object(
    {
      predicted: Type.Union([N, Type.String()]),
      actual: Nullable(Type.Union([N, Type.String()]), { description: 'null: unbounded' }),
      correct: Type.Boolean({ description: tolerance }),
      error: Nullable(N, { description: `(predicted − actual) / actual; null for the bottleneck (${unit})` })
    },
    strict
  )

export const PredictionScoresSchema = Type.Object(
  {
    p95Ms: Type.Optional(PredictionScore('ms', 'within ±25 % of the p95 at peak')),
    bottleneck: Type.Optional(PredictionScore('id', 'the bottleneck, or one of its identical group')),
    maxSustainableRps: Type.Optional(PredictionScore('rps', 'within ±20 % of the maximum sustainable throughput')),
    score: Type.Integer({ minimum: 0, maximum: 100, description: 'the share of predictions that were right, in %' })
  },
  { ...strict, description: 'each prediction against the result (docs/simulation.md states the tolerances)' }
)

/** What can make a result out of date (issue 38): the design or profile edited since, a newer model, a newer rubric. */
export const STALE_CAUSES = ['design', 'traffic', 'model', 'rubric'] as const

/** A run's or a grade's age against the workspace now. */
export const staleFields = {
  stale: Type.Boolean({
    description: 'the design, traffic profile, model (or, for a grade, rubric) changed since: simulate again'
  }),
  staleBecause: Type.Array(OneOf(STALE_CAUSES), { description: 'what changed since, empty when current' })
}

export const runFields = {
  id: Uuid,
  workspaceId: Uuid,
  status: RunStatusSchema,
  seed: Type.Integer(),
  error: Nullable(Type.String()),
  createdAt: Timestamp,
  startedAt: Nullable(Timestamp),
  completedAt: Nullable(Timestamp)
}

export const RunSchema = Type.Object(
  {
    ...runFields,
    ...staleFields,
    predictions: Nullable(PredictionScoresSchema, {
      description: 'null when the run was asked for without predictions'
    }),
    design: Type.Optional({ ...DesignSchema, description: 'the design it ran with (two runs compared: what changed)' }),
    result: Nullable(RunResultSchema)
  },
  strict
)

/** A run in a list: its overall figures only (a 500-component result is tens of kB). */
export const RunSummarySchema = Type.Object(
  {
    ...runFields,
    ...staleFields,
    overall: Nullable(OverallSchema),
    latestGrade: Nullable(Type.Object({ id: Uuid, score: Type.Integer() }, strict), {
      description: 'the newest completed grade of the run, if any'
    })
  },
  strict
)

export const GradeReportSchema = Type.Object(
  {
    id: Uuid,
    simulationId: Uuid,
    status: RunStatusSchema,
    score: Nullable(Type.Integer()),
    items: Nullable(Type.Array(GradeItemSchema)),
    checks: Nullable(Type.Array(CheckSchema), {
      description: 'an exercise attempt’s acceptance checks, measured by the model, before the rubric; null otherwise'
    }),
    hintPoints: Nullable(Type.Integer(), {
      description: 'an attempt’s hint points, taken off the rubric’s score; null otherwise'
    }),
    rubricVersion: Nullable(Type.Integer(), {
      description:
        'the rubric version that scored it (docs/simulation.md); null until completed, or graded before versions were kept'
    }),
    error: Nullable(Type.String()),
    createdAt: Timestamp,
    completedAt: Nullable(Timestamp),
    ...staleFields,
    estimation: Nullable(Type.Integer({ minimum: 0, maximum: 100 }), {
      description: 'the run’s prediction score (%), beside the total and never in it; null without predictions'
    })
  },
  strict
)

/** The account a session belongs to, as the auth routes answer it (the web client types its user by it). */
export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    displayName: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    emailVerified: Type.Boolean(),
    createdAt: Timestamp
  },
  strict
)
export type User = Static<typeof UserSchema>
export type Predictions = Static<typeof PredictionsSchema>
export type PredictionScores = Static<typeof PredictionScoresSchema>

export type Workspace = Static<typeof WorkspaceSchema>
export type WorkspaceSummary = Static<typeof WorkspaceSummarySchema>
export type TrafficProfileResource = Static<typeof TrafficProfileResourceSchema>
export type RunStatus = Static<typeof RunStatusSchema>
export type Run = Static<typeof RunSchema>
export type RunSummary = Static<typeof RunSummarySchema>
export type GradeReport = Static<typeof GradeReportSchema>

/** A workspace as its read-only share link shows it: nothing of its owner's (no email, no id). */
export const SharedWorkspaceSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    design: DesignSchema,
    trafficProfile: TrafficProfileSchema,
    lastRun: Nullable(Type.Object({ simulatedAt: Timestamp, result: RunResultSchema }, strict), {
      description: 'the newest completed simulation of the workspace, if any'
    }),
    grade: Nullable(Type.Object({ score: Type.Integer(), items: Type.Array(GradeItemSchema) }, strict), {
      description: 'the newest completed grade of that simulation, if any'
    }),
    expiresAt: Timestamp
  },
  strict
)

/** A share link as made: its address holds the token, shown this once. */
export const ShareLinkSchema = Type.Object(
  { url: Type.String(), token: Type.String(), expiresAt: Timestamp, createdAt: Timestamp },
  strict
)

/** Whether a workspace has a live share link (its token is never shown again). */
export const ShareStatusSchema = Type.Object(
  { live: Nullable(Type.Object({ expiresAt: Timestamp, createdAt: Timestamp }, strict)) },
  strict
)
export type SharedWorkspace = Static<typeof SharedWorkspaceSchema>
export type ShareLink = Static<typeof ShareLinkSchema>
export type ShareStatus = Static<typeof ShareStatusSchema>

// Exercises and attempts (issue 37). The exercise's reference solution is its own resource,
// answered only once the caller may see it.

export const DifficultySchema = OneOf(['beginner', 'intermediate', 'advanced'])

export const ExerciseSummarySchema = Type.Object(
  {
    slug: Type.String(),
    order: Type.Integer(),
    title: Type.String(),
    difficulty: DifficultySchema,
    statement: Type.String(),
    lesson: Type.String(),
    requirements: RequirementsSchema,
    hintCosts: Type.Array(Type.Integer(), { description: 'the point cost of each hint level, in order' }),
    source: Nullable(Type.Object({ title: Type.String(), url: Type.String(), license: Type.String() }, strict), {
      description: 'where its numbers come from, with its licence'
    }),
    bestScore: Nullable(Type.Integer(), {
      description: 'the caller’s best grade of an attempt (null: anonymous, or none graded yet)'
    }),
    attempts: Type.Integer({ description: 'the caller’s attempts (0 when anonymous)' })
  },
  strict
)

export const ExerciseDetailSchema = Type.Object(
  {
    ...ExerciseSummarySchema.properties,
    referenceAvailable: Type.Boolean({
      description: 'GET /exercises/:slug/reference answers: a graded attempt, a give-up, or an admin'
    })
  },
  strict
)

export const RevealedHintSchema = Type.Object(
  { level: Type.Integer(), text: Type.String(), cost: Type.Integer(), revealedAt: Timestamp },
  strict
)

export const SubmissionSchema = Type.Object(
  {
    id: Uuid,
    workspaceId: Uuid,
    exerciseSlug: Type.String(),
    simulationId: Uuid,
    gradeId: Uuid,
    hintPoints: Type.Integer({ description: 'points the hints taken cost, off the grade' }),
    submittedAt: Timestamp
  },
  strict
)

export const AttemptSchema = Type.Object(
  {
    workspaceId: Uuid,
    exerciseSlug: Type.String(),
    createdAt: Timestamp,
    hints: Type.Array(RevealedHintSchema),
    hintPoints: Type.Integer(),
    hintsLeft: Type.Integer(),
    givenUpAt: Nullable(Timestamp),
    bestScore: Nullable(Type.Integer(), { description: 'the best completed grade of its runs' }),
    submissions: Type.Array(SubmissionSchema, { description: 'newest first' })
  },
  strict
)

export const ReferenceSchema = Type.Object(
  { slug: Type.String(), design: DesignSchema, explanation: Type.String() },
  strict
)

export type ExerciseSummary = Static<typeof ExerciseSummarySchema>
export type ExerciseDetail = Static<typeof ExerciseDetailSchema>
export type RevealedHint = Static<typeof RevealedHintSchema>
export type Submission = Static<typeof SubmissionSchema>
export type Attempt = Static<typeof AttemptSchema>
export type Reference = Static<typeof ReferenceSchema>
