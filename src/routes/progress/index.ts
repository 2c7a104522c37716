import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import type { Design } from '../../domain/model.ts'
import { type Predictions, scorePredictions } from '../../domain/predictions.ts'
import type { SimulationResult } from '../../domain/schemas.ts'
import { Timestamp, Uuid } from '../../domain/schemas.ts'
import { exercises } from '../../exercises/index.ts'
import { predictedRuns } from '../../runs/runs.ts'
import { errorResponses } from '../../schemas.ts'
import { attemptsOf } from './store.ts'

// GET /progress (issue 38): the learner's page — exercises attempted, best score, checks passed,
// hints used, and the estimation score over time.

const strict = { additionalProperties: false } as const

const Progress = Type.Object(
  {
    exercises: Type.Array(
      Type.Object(
        {
          slug: Type.String(),
          title: Type.String(),
          attempts: Type.Integer(),
          bestScore: Type.Union([Type.Integer(), Type.Null()], {
            description: 'the best grade of any attempt; null: none graded'
          }),
          checksPassed: Type.Union([Type.Integer(), Type.Null()], { description: 'of the best grade' }),
          checksTotal: Type.Union([Type.Integer(), Type.Null()]),
          hintsUsed: Type.Integer(),
          lastAttemptAt: Timestamp
        },
        strict
      )
    ),
    estimation: Type.Array(
      Type.Object(
        { runId: Uuid, workspaceId: Uuid, at: Timestamp, score: Type.Integer({ minimum: 0, maximum: 100 }) },
        { ...strict, description: 'a run with predictions and its estimation score, oldest first (the latest 50)' }
      )
    )
  },
  strict
)

const progressRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/progress',
    {
      config: { auth: 'user' },
      schema: { tags: ['exercises'], response: { 200: Progress, ...errorResponses(401, 429) } }
    },
    async (request) => {
      const ownerId = request.user?.id as string
      const [attempts, runs] = await withContext(fastify.sql, { userId: ownerId }, (tx) =>
        Promise.all([attemptsOf(tx, ownerId), predictedRuns(tx, ownerId, 50)])
      )
      const catalogue = exercises().bySlug
      return {
        exercises: attempts.map((a) => ({
          slug: a.exercise_slug,
          title: catalogue.get(a.exercise_slug)?.title ?? a.exercise_slug,
          attempts: a.attempts,
          bestScore: a.best_score,
          checksPassed: a.best_checks ? a.best_checks.filter((c) => c.passed).length : null,
          checksTotal: a.best_checks ? a.best_checks.length : null,
          hintsUsed: a.hints_used,
          lastAttemptAt: a.last_at.toISOString()
        })),
        estimation: runs.flatMap((r) => {
          if (!r.overall) return []
          const scored = scorePredictions(r.predictions as Predictions, r.design as Design, r.traffic, {
            overall: r.overall as SimulationResult['overall']
          })
          return scored
            ? [{ runId: r.id, workspaceId: r.workspace_id, at: r.created_at.toISOString(), score: scored.score }]
            : []
        })
      }
    }
  )
}

export default progressRoutes
