import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import { type ExerciseDefinition, trafficOf } from '../../domain/exercises.ts'
import type { Design } from '../../domain/model.ts'
import { Nullable } from '../../domain/schemas.ts'
import { Conflict, FeatureDisabled, Forbidden, NotFound } from '../../errors.ts'
import { hintsForbidden } from '../../exercises/assigned.ts'
import { exercises } from '../../exercises/index.ts'
import { uuidv7 } from '../../ids.ts'
import { enqueueJob } from '../../queue/enqueue.ts'
import { GradingJob } from '../../queue/messages.ts'
import { insertSubmissionGrade } from '../../runs/grades.ts'
import { newestCompletedRunId } from '../../runs/runs.ts'
import { errorResponses, IdParams } from '../../schemas.ts'
import { insertWorkspace, ownedWorkspace, toWorkspace } from '../../workspaces/store.ts'
import { acting } from '../context.ts'
import { checkWorkspaceQuota } from '../quotas.ts'
import { Name, TrafficProfileSchema, Workspace } from '../workspaces/schemas.ts'
import {
  Attempt,
  EmptyBody,
  ExerciseDetail,
  ExerciseSummary,
  GaveUp,
  HintRevealed,
  Reference,
  SlugParams,
  Submission
} from './schemas.ts'
import {
  type AttemptRow,
  attemptTotals,
  giveUp,
  insertAttempt,
  insertSubmission,
  listAttempts,
  mayseeReference,
  ownedAttempt,
  revealHint,
  toSubmission
} from './store.ts'

const ATTEMPT = 'the workspace must be the caller’s exercise attempt, else 404'

const AttemptCreated = Type.Object(
  { ...Workspace.properties, exerciseSlug: Type.String(), trafficProfile: TrafficProfileSchema },
  { additionalProperties: false }
)

const summaryOf = (e: ExerciseDefinition, totals?: { attempts: number; best: number | null }) => ({
  slug: e.slug,
  order: e.order,
  title: e.title,
  difficulty: e.difficulty,
  statement: e.statement,
  lesson: e.lesson,
  requirements: e.requirements,
  hintCosts: e.hints.map((h) => h.cost),
  source: e.source ?? null,
  bestScore: totals?.best ?? null,
  attempts: totals?.attempts ?? 0
})

/** Where a new attempt starts: the users, ready to be linked to the learner's first component. */
const START: Design = { components: [{ id: 'users', type: 'client', x: 80, y: 220 } as never], links: [] }

const exerciseRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql
  // Read and validated on first use, once per process (src/exercises/index.ts).
  const catalogue = () => exercises(fastify.catalogue)
  const exerciseOr404 = (slug: string) => {
    const e = catalogue().bySlug.get(slug)
    if (!e) throw new NotFound('Exercise')
    return e
  }
  /** The caller's attempt (locked for the transaction when `tx` is one), else 404. */
  const attemptOr404 = async (
    tx: Parameters<typeof ownedAttempt>[0],
    request: FastifyRequest,
    id: string,
    lock = true
  ) => {
    const row = await ownedAttempt(tx, id, request.user?.id as string, lock)
    if (!row) throw new NotFound('Exercise attempt')
    return row
  }

  fastify.get(
    '/exercises',
    {
      config: { auth: 'public', identifies: true },
      schema: {
        tags: ['exercises'],
        description:
          'The exercises, in order: a problem, its requirements as numbers and its hints’ costs. Public; with a token, each carries the caller’s attempts and best score.',
        response: { 200: Type.Object({ items: Type.Array(ExerciseSummary) }), ...errorResponses(429) }
      }
    },
    async (request) => {
      const user = request.user
      const totals = user ? await withContext(sql, acting(request), (tx) => attemptTotals(tx, user.id)) : []
      const bySlug = new Map(totals.map((t) => [t.exercise_slug, t]))
      return { items: catalogue().list.map((e) => summaryOf(e, bySlug.get(e.slug))) }
    }
  )

  fastify.get(
    '/exercises/:slug',
    {
      config: { auth: 'public', identifies: true },
      schema: {
        tags: ['exercises'],
        params: SlugParams,
        response: { 200: ExerciseDetail, ...errorResponses(400, 404, 429) }
      }
    },
    async (request) => {
      const e = exerciseOr404(request.params.slug)
      const user = request.user
      if (!user) return { ...summaryOf(e), referenceAvailable: false }
      const [all, mayseeIt] = await withContext(sql, acting(request), async (tx) => [
        await attemptTotals(tx, user.id),
        user.role === 'admin' || (await mayseeReference(tx, user.id, e.slug))
      ])
      const totals = all.find((t) => t.exercise_slug === e.slug)
      const referenceAvailable = mayseeIt
      return { ...summaryOf(e, totals), referenceAvailable }
    }
  )

  fastify.post(
    '/exercises/:slug/attempts',
    {
      config: {
        auth: 'user',
        idempotent: true,
        location: '/workspaces/',
        audit: { action: 'exercise.attempt', resourceType: 'workspace' }
      },
      schema: {
        tags: ['exercises'],
        params: SlugParams,
        description:
          'Starts an attempt: a workspace tied to the exercise, its traffic profile set from the requirements and locked (a PATCH that changes one answers 422 APP_ERR_REQUIREMENT_LOCKED).',
        body: Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false }),
        response: { 201: AttemptCreated, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const e = exerciseOr404(request.params.slug)
      const ownerId = request.user?.id as string
      const id = uuidv7()
      const traffic = trafficOf(e.requirements)
      const body = await withContext(sql, acting(request), async (tx) => {
        await checkWorkspaceQuota(tx, ownerId, fastify.config.quotas)
        const created = await insertWorkspace(
          tx,
          request.audit(tx, { resourceId: id, statusCode: 201, changes: { exercise: e.slug } }),
          {
            id,
            ownerId,
            name: (request.body?.name ?? e.title).trim(),
            description: `Exercise: ${e.title}`,
            design: START,
            traffic
          }
        )
        await insertAttempt(tx, { workspaceId: id, ownerId, slug: e.slug, traffic })
        const answer = { ...toWorkspace(created), exerciseSlug: e.slug, trafficProfile: traffic }
        await request.idempotent(tx, 201, answer)
        return answer
      })
      return reply.code(201).send(body)
    }
  )

  fastify.get(
    '/exercises/:slug/attempts',
    {
      config: { auth: 'user', ownership: 'lists only the caller’s attempts' },
      schema: {
        tags: ['exercises'],
        params: SlugParams,
        description:
          'The caller’s attempts of the exercise, newest first, each with its hints, best grade and submissions.',
        response: { 200: Type.Object({ items: Type.Array(Attempt) }), ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const e = exerciseOr404(request.params.slug)
      const rows = await withContext(sql, acting(request), (tx) => listAttempts(tx, request.user?.id as string, e.slug))
      return { items: rows.map((r) => attemptOf(e, r, r.best, r.hints, r.submissions)) }
    }
  )

  fastify.get(
    '/workspaces/:id/attempt',
    {
      config: { auth: 'user', ownership: 'the workspace must belong to the caller, else 404' },
      schema: {
        tags: ['exercises'],
        params: IdParams,
        description:
          'The attempt a workspace is, for the editor: `attempt` is null for a workspace that is no exercise attempt.',
        response: { 200: Type.Object({ attempt: Nullable(Attempt) }), ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const found = await withContext(sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        const row = await ownedAttempt(tx, workspace.id, workspace.owner_id)
        const e = row ? catalogue().bySlug.get(row.exercise_slug) : undefined
        if (!row || !e) return null
        const [full] = (await listAttempts(tx, row.owner_id, e.slug)).filter((a) => a.workspace_id === row.workspace_id)
        return { row, e, full }
      })
      if (!found) return { attempt: null }
      const { row, e, full } = found
      return { attempt: attemptOf(e, row, full?.best ?? null, full?.hints ?? [], full?.submissions ?? []) }
    }
  )

  fastify.post(
    '/workspaces/:id/hints',
    {
      config: { auth: 'user', ownership: ATTEMPT, audit: { action: 'exercise.hint', resourceType: 'workspace' } },
      schema: {
        tags: ['exercises'],
        params: IdParams,
        description:
          'Reveals the attempt’s next hint level and records its point cost, taken off its grades. 409 when every hint is revealed.',
        body: EmptyBody,
        response: { 200: HintRevealed, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) }
      }
    },
    async (request) =>
      withContext(sql, acting(request), async (tx) => {
        const row = await attemptOr404(tx, request, request.params.id)
        const e = exerciseOr404(row.exercise_slug)
        // A class assignment may forbid hints (issue 40).
        if (await hintsForbidden(sql, row.owner_id, row.workspace_id))
          throw new Forbidden('The instructor turned hints off for this assignment')
        const level = row.hints_revealed + 1
        const hint = e.hints[level - 1]
        if (!hint) throw new Conflict(`Every hint of this exercise is revealed (${e.hints.length})`)
        const revealed = await revealHint(
          tx,
          request.audit(tx, { resourceId: row.workspace_id, changes: { level, cost: hint.cost } }),
          { workspaceId: row.workspace_id, level, points: hint.cost }
        )
        if (!revealed) throw new Conflict('Another request revealed this hint; reload the attempt')
        return {
          level,
          text: hint.text,
          cost: hint.cost,
          hintPoints: row.hint_points + hint.cost,
          hintsLeft: e.hints.length - level
        }
      })
  )

  fastify.post(
    '/workspaces/:id/submit',
    {
      config: {
        auth: 'user',
        ownership: ATTEMPT,
        audit: { action: 'exercise.submit', resourceType: 'submission' }
      },
      schema: {
        tags: ['exercises'],
        params: IdParams,
        description:
          'Hands in the attempt: grades its newest completed run (the exercise’s checks, then the rubric, less the hint points; GET /grades/:gradeId) and records the submission. 409 when the attempt has no completed run.',
        body: EmptyBody,
        response: { 201: Submission, ...errorResponses(400, 401, 404, 409, 413, 415, 429, 503) }
      }
    },
    async (request, reply) => {
      if (!fastify.config.flags.GRADING) throw new FeatureDisabled('Grading')
      const ownerId = request.user?.id as string
      const submission = await withContext(sql, acting(request), async (tx) => {
        const row = await attemptOr404(tx, request, request.params.id)
        const simulationId = await newestCompletedRunId(tx, row.workspace_id)
        if (!simulationId) throw new Conflict('Run a simulation of the attempt before you submit it')
        const id = uuidv7()
        const gradeId = uuidv7()
        request.enqueuedOn = 'grading'
        await insertSubmissionGrade(tx, { id: gradeId, simulationId, ownerId })
        const [, created] = await Promise.all([
          enqueueJob(fastify.boss, tx, GradingJob, { gradeId, ownerId }, request.id, { id: gradeId }),
          insertSubmission(
            tx,
            request.audit(tx, { resourceId: id, statusCode: 201, changes: { simulationId, gradeId } }),
            {
              id,
              workspaceId: row.workspace_id,
              ownerId,
              slug: row.exercise_slug,
              simulationId,
              gradeId,
              hintPoints: row.hint_points
            }
          )
        ])
        return toSubmission(created)
      })
      return reply.code(201).send(submission)
    }
  )

  fastify.post(
    '/workspaces/:id/give-up',
    {
      config: { auth: 'user', ownership: ATTEMPT, audit: { action: 'exercise.give_up', resourceType: 'workspace' } },
      schema: {
        tags: ['exercises'],
        params: IdParams,
        description:
          'Gives the attempt up (recorded; the first one stands): the exercise’s reference may then be seen.',
        body: EmptyBody,
        response: { 200: GaveUp, ...errorResponses(400, 401, 404, 413, 415, 429) }
      }
    },
    async (request) =>
      withContext(sql, acting(request), async (tx) => {
        const row = await attemptOr404(tx, request, request.params.id)
        const at = await giveUp(tx, request.audit(tx, { resourceId: row.workspace_id }), row.workspace_id)
        return { workspaceId: row.workspace_id, givenUpAt: at.toISOString() }
      })
  )

  fastify.get(
    '/exercises/:slug/reference',
    {
      config: {
        auth: 'user',
        ownership: 'only after the caller’s graded attempt of the exercise or a give-up, else 404; admins always'
      },
      schema: {
        tags: ['exercises'],
        params: SlugParams,
        response: { 200: Reference, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const e = exerciseOr404(request.params.slug)
      const user = request.user
      if (
        user?.role !== 'admin' &&
        !(await withContext(sql, acting(request), (tx) => mayseeReference(tx, user?.id as string, e.slug)))
      )
        throw new NotFound('Reference')
      return { slug: e.slug, design: e.reference.design, explanation: e.reference.explanation }
    }
  )
}

function attemptOf(
  e: ExerciseDefinition,
  row: AttemptRow,
  best: number | null,
  hints: { level: number; points: number; revealed_at: Date }[],
  submissions: Parameters<typeof toSubmission>[0][]
) {
  return {
    workspaceId: row.workspace_id,
    exerciseSlug: row.exercise_slug,
    createdAt: row.created_at.toISOString(),
    hints: hints.map((h) => ({
      level: h.level,
      text: e.hints[h.level - 1]?.text ?? '',
      cost: h.points,
      revealedAt: h.revealed_at.toISOString()
    })),
    hintPoints: row.hint_points,
    hintsLeft: Math.max(0, e.hints.length - row.hints_revealed),
    givenUpAt: row.given_up_at?.toISOString() ?? null,
    bestScore: best,
    submissions: submissions.map(toSubmission)
  }
}

export default exerciseRoutes
