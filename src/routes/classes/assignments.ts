import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { TransactionSql } from '../../db/client.ts'
import { setContext, withContext } from '../../db/context.ts'
import { AssignmentSchema, AssignmentResultsSchema as Results } from '../../domain/classes.ts'
import type { Requirements } from '../../domain/exercise-schemas.ts'
import { trafficOf, validateExercise } from '../../domain/exercises.ts'
import type { Design } from '../../domain/model.ts'
import { Conflict, Forbidden, InvalidDesignError, NotFound } from '../../errors.ts'
import { exercises } from '../../exercises/index.ts'
import { uuidv7 } from '../../ids.ts'
import { runsWithLatestGrade } from '../../runs/runs.ts'
import { errorResponses, IdParams, Uuid } from '../../schemas.ts'
import { insertWorkspace, visibleWorkspace } from '../../workspaces/store.ts'
import { checkWorkspaceQuota } from '../quotas.ts'
import {
  type AssignmentRow,
  assignmentById,
  assignmentResults,
  attemptOf,
  classAssignments,
  insertAssignment,
  linkAttempt,
  type ResultRow
} from './assignment-store.ts'
import { classById, manages } from './store.ts'

const INSTRUCTORS =
  'the class’s instructors and its organisation’s owners (row-level security); a learner of the class gets 403, anyone else 404'
const MEMBERS =
  'the class’s members and its organisation’s owners (row-level security); another organisation’s member or a learner of another class gets 404'

/** Who may call each assignment route: the list the routes declare and the authz test walks. */
export const ASSIGNMENT_ROUTE_RULES = {
  'POST /classes/:id/assignments': 'instructor',
  'GET /classes/:id/assignments': 'member',
  'POST /assignments/:id/attempts': 'member',
  'GET /assignments/:id/results': 'instructor',
  'GET /assignments/:id/results.csv': 'instructor',
  'GET /assignments/:id/attempts/:userId': 'instructor'
} as const

const START: Design = { components: [{ id: 'users', type: 'client', x: 80, y: 220 } as never], links: [] }
/** The exercise's numbers at another scale: the load and what it may cost grow together. */
export function rescale(r: Requirements, scale: number): Requirements {
  if (scale === 1) return r
  const round = (x: number) => Math.round(x * 1000) / 1000
  return { ...r, peakRps: round(r.peakRps * scale), budgetPerMonth: round(r.budgetPerMonth * scale) }
}

function statusOf(a: { due_at: Date }, workspaceId: string | null, submittedAt: Date | null) {
  if (!workspaceId) return 'not_started' as const
  if (!submittedAt) return 'started' as const
  return submittedAt > a.due_at ? ('late' as const) : ('submitted' as const)
}

const toAssignment = (
  a: AssignmentRow,
  mine?: { workspace_id: string | null; submitted_at: Date | null; best: number | null }
) => ({
  id: a.id,
  classId: a.class_id,
  exerciseSlug: a.exercise_slug,
  title: a.title,
  opensAt: a.opens_at.toISOString(),
  dueAt: a.due_at.toISOString(),
  hintsAllowed: a.hints_allowed,
  scale: Number(a.scale),
  requirements: a.requirements as Record<string, unknown>,
  status: statusOf(a, mine?.workspace_id ?? null, mine?.submitted_at ?? null),
  workspaceId: mine?.workspace_id ?? null,
  bestScore: mine?.best ?? null
})

const csvCell = (v: unknown) => {
  const text = v === null || v === undefined ? '' : String(v)
  // A leading =, +, - or @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text
  return /[",\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}

const assignmentRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { sql } = fastify
  const userOf = (request: FastifyRequest) => request.user?.id as string
  const asCaller = <T>(request: FastifyRequest, work: (tx: TransactionSql) => Promise<T>) =>
    withContext(sql, { userId: userOf(request) }, work)

  /** The assignment as the caller sees it (404 when the policies hide it), narrowed to its organisation. */
  async function assignmentFor(tx: TransactionSql, request: FastifyRequest, id: string, instructor: boolean) {
    const row = await assignmentById(tx, id)
    if (!row) throw new NotFound('Assignment')
    const staff = row.class_role === 'instructor' || row.organisation_role === 'owner'
    if (instructor && !staff) throw new Forbidden('Only the class’s instructors may do this')
    await setContext(tx, { userId: userOf(request), organisationId: row.organisation_id })
    return row
  }

  fastify.post(
    '/classes/:id/assignments',
    {
      config: {
        auth: 'user',
        ownership: INSTRUCTORS,
        audit: { action: 'assignment.create', resourceType: 'assignment' }
      },
      schema: {
        tags: ['classes'],
        description:
          'Assigns an exercise to the class. `scale` multiplies its peak load and budget (the same exercise at another scale); a scale at which the exercise’s reference no longer passes its checks is refused (422).',
        params: IdParams,
        body: Type.Object(
          {
            exerciseSlug: Type.String({ minLength: 1, maxLength: 100 }),
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })),
            opensAt: Type.Optional(Type.String({ format: 'date-time' })),
            dueAt: Type.String({ format: 'date-time' }),
            hintsAllowed: Type.Optional(Type.Boolean({ default: true })),
            scale: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 1 }))
          },
          { additionalProperties: false }
        ),
        response: { 201: AssignmentSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429) }
      }
    },
    async (request, reply) => {
      const { exerciseSlug, title, opensAt, dueAt, hintsAllowed = true, scale = 1 } = request.body
      const id = uuidv7()
      const row = await asCaller(request, async (tx) => {
        const c = await classById(tx, request.params.id)
        if (!c) throw new NotFound('Class')
        if (!manages(c)) throw new Forbidden('Only the class’s instructors may do this')
        await setContext(tx, { userId: userOf(request), organisationId: c.organisation_id })
        const exercise = exercises(fastify.catalogue).bySlug.get(exerciseSlug)
        if (!exercise) throw new NotFound('Exercise')
        const opens = opensAt ? new Date(opensAt) : new Date()
        const due = new Date(dueAt)
        if (!(due > opens))
          throw new InvalidDesignError([{ path: '/dueAt', message: 'The due date must be after the opening' }])
        const requirements = rescale(exercise.requirements, scale)
        const problems = validateExercise({ ...exercise, requirements }, fastify.catalogue)
        if (problems.length > 0) throw new InvalidDesignError(problems.map((message) => ({ path: '/scale', message })))
        await insertAssignment(
          tx,
          request.audit(tx, { resourceId: id, statusCode: 201, organisationId: c.organisation_id }),
          {
            id,
            organisation_id: c.organisation_id,
            class_id: c.id,
            exercise_slug: exercise.slug,
            title: (title ?? exercise.title).trim(),
            opens_at: opens,
            due_at: due,
            hints_allowed: hintsAllowed,
            scale,
            requirements,
            createdBy: userOf(request)
          }
        )
        return assignmentById(tx, id)
      })
      return reply.code(201).send(toAssignment(row as AssignmentRow))
    }
  )

  fastify.get(
    '/classes/:id/assignments',
    {
      config: { auth: 'user', ownership: MEMBERS },
      schema: {
        tags: ['classes'],
        description: 'The class’s assignments, each with the caller’s own attempt and status.',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(AssignmentSchema) }), ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => {
        const c = await classById(tx, request.params.id)
        if (!c) throw new NotFound('Class')
        await setContext(tx, { userId: userOf(request), organisationId: c.organisation_id })
        const rows = await classAssignments(tx, c.organisation_id, c.id, userOf(request))
        return { items: rows.map((r) => toAssignment(r, r)) }
      })
  )

  fastify.post(
    '/assignments/:id/attempts',
    {
      config: {
        auth: 'user',
        ownership: MEMBERS,
        location: '/workspaces/',
        audit: { action: 'assignment.attempt', resourceType: 'workspace' }
      },
      schema: {
        tags: ['classes'],
        description:
          'Starts the caller’s attempt at an open assignment: a workspace tied to the exercise at the assignment’s scale (one per learner; 409 once started).',
        params: IdParams,
        response: {
          201: Type.Object(
            { id: Uuid, assignmentId: Uuid },
            { additionalProperties: false, description: '`id` is the attempt’s workspace' }
          ),
          ...errorResponses(400, 401, 403, 404, 409, 429)
        }
      }
    },
    async (request, reply) => {
      const userId = userOf(request)
      const workspaceId = uuidv7()
      await asCaller(request, async (tx) => {
        const a = await assignmentFor(tx, request, request.params.id, false)
        if (a.opens_at > new Date()) throw new Forbidden(`The assignment opens at ${a.opens_at.toISOString()}`)
        if (await attemptOf(tx, a.organisation_id, a.id, userId)) throw new Conflict('The attempt is started already')
        const exercise = exercises(fastify.catalogue).bySlug.get(a.exercise_slug)
        if (!exercise) throw new NotFound('Exercise')
        const traffic = trafficOf(a.requirements)
        await checkWorkspaceQuota(tx, userId, fastify.config.quotas)
        await insertWorkspace(
          tx,
          request.audit(tx, {
            resourceId: workspaceId,
            statusCode: 201,
            organisationId: a.organisation_id,
            changes: { assignmentId: a.id }
          }),
          {
            id: workspaceId,
            ownerId: userId,
            name: a.title,
            description: `Assignment: ${a.title}`,
            design: START,
            traffic
          }
        )
        await tx`
          insert into app.exercise_attempts ${tx({
            workspace_id: workspaceId,
            owner_id: userId,
            exercise_slug: a.exercise_slug,
            locked_traffic: traffic as never
          })}
        `
        await linkAttempt(tx, { organisationId: a.organisation_id, assignmentId: a.id, userId, workspaceId })
      })
      return reply.code(201).send({ id: workspaceId, assignmentId: request.params.id })
    }
  )

  async function results(request: FastifyRequest, id: string) {
    return asCaller(request, async (tx) => {
      const a = await assignmentFor(tx, request, id, true)
      return { a, rows: await assignmentResults(tx, a) }
    })
  }

  const learnerOf = (a: AssignmentRow, r: ResultRow) => {
    const failed = (r.checks ?? []).filter((c) => !c.passed)
    return {
      userId: r.user_id,
      displayName: r.display_name,
      email: r.email,
      workspaceId: r.workspace_id,
      status: statusOf(a, r.workspace_id, r.submitted_at),
      score: r.score,
      passed: r.checks !== null && r.checks.length > 0 && failed.length === 0,
      failedChecks: failed.map((c) => c.id),
      bottleneck: r.bottleneck
    }
  }

  fastify.get(
    '/assignments/:id/results',
    {
      config: { auth: 'user', ownership: INSTRUCTORS },
      schema: {
        tags: ['classes'],
        description:
          'Who started, submitted (late or not) and passed; the scores of the latest submissions and their distribution; the checks that fail most often and the typical bottleneck.',
        params: IdParams,
        response: { 200: Results, ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request) => {
      const { a, rows } = await results(request, request.params.id)
      const items = rows.map((r) => learnerOf(a, r))
      const scores = items.flatMap((i) => (i.score === null ? [] : [i.score])).sort((x, y) => x - y)
      const failed = new Map<string, { id: string; title: string; failed: number }>()
      for (const r of rows)
        for (const c of r.checks ?? [])
          if (!c.passed) {
            const entry = failed.get(c.id) ?? { id: c.id, title: c.title, failed: 0 }
            entry.failed++
            failed.set(c.id, entry)
          }
      const bottlenecks = new Map<string, number>()
      for (const i of items) if (i.bottleneck) bottlenecks.set(i.bottleneck, (bottlenecks.get(i.bottleneck) ?? 0) + 1)
      const [typical] = [...bottlenecks].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      return {
        assignment: toAssignment(a),
        learners: items.length,
        started: items.filter((i) => i.status !== 'not_started').length,
        submitted: items.filter((i) => i.status === 'submitted' || i.status === 'late').length,
        passed: items.filter((i) => i.passed).length,
        late: items.filter((i) => i.status === 'late').length,
        scores: {
          mean: scores.length ? Math.round((scores.reduce((s, x) => s + x, 0) / scores.length) * 10) / 10 : null,
          median: scores.length ? scores[Math.floor((scores.length - 1) / 2)] : null,
          distribution: Array.from({ length: 10 }, (_, k) => ({
            from: k * 10,
            to: k === 9 ? 100 : k * 10 + 9,
            count: scores.filter((s) => Math.min(9, Math.floor(s / 10)) === k).length
          }))
        },
        mostFailedChecks: [...failed.values()].sort((x, y) => y.failed - x.failed || x.id.localeCompare(y.id)),
        typicalBottleneck: typical ? { component: typical[0], learners: typical[1] } : null,
        items
      }
    }
  )

  fastify.get(
    '/assignments/:id/results.csv',
    {
      config: { auth: 'user', ownership: INSTRUCTORS },
      schema: {
        tags: ['classes'],
        description: 'The results, one learner a line (spreadsheet formulas neutralised).',
        params: IdParams,
        response: { 200: Type.String(), ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request, reply) => {
      const { a, rows } = await results(request, request.params.id)
      const lines = [['name', 'email', 'status', 'score', 'passed', 'failed_checks', 'bottleneck']]
      for (const r of rows) {
        const l = learnerOf(a, r)
        lines.push([
          l.displayName,
          l.email,
          l.status,
          String(l.score ?? ''),
          String(l.passed),
          l.failedChecks.join(' '),
          l.bottleneck ?? ''
        ])
      }
      reply.header('content-type', 'text/csv; charset=utf-8')
      reply.header('content-disposition', `attachment; filename="assignment-${a.id}.csv"`)
      return `${lines.map((l) => l.map(csvCell).join(',')).join('\n')}\n`
    }
  )

  fastify.get(
    '/assignments/:id/attempts/:userId',
    {
      config: { auth: 'user', ownership: `${INSTRUCTORS}; read-only` },
      schema: {
        tags: ['classes'],
        description:
          'A learner’s attempt, read-only: its design, its runs (newest first) and their grades with the advice given.',
        params: Type.Object({ id: Uuid, userId: Uuid }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            workspaceId: Uuid,
            name: Type.String(),
            design: Type.Object({}, { additionalProperties: true }),
            runs: Type.Array(
              Type.Object({
                id: Uuid,
                status: Type.String(),
                createdAt: Type.String({ format: 'date-time' }),
                overall: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
                grade: Type.Union([
                  Type.Object({ score: Type.Number(), items: Type.Unknown(), checks: Type.Unknown() }),
                  Type.Null()
                ])
              })
            )
          }),
          ...errorResponses(400, 401, 403, 404, 429)
        }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => {
        const a = await assignmentFor(tx, request, request.params.id, true)
        const workspaceId = await attemptOf(tx, a.organisation_id, a.id, request.params.userId)
        if (!workspaceId) throw new NotFound('Attempt')
        // Read through the policies: the instructor of the class reads the attempt, nothing else of the learner's.
        const ws = await visibleWorkspace(tx, workspaceId)
        if (!ws) throw new NotFound('Attempt')
        const runs = await runsWithLatestGrade(tx, workspaceId, 50)
        return {
          workspaceId: ws.id,
          name: ws.name,
          design: ws.design,
          runs: runs.map((r) => ({
            id: r.id,
            status: r.status,
            createdAt: r.created_at.toISOString(),
            overall: r.overall,
            grade: r.grade
          }))
        }
      })
  )
}

export default assignmentRoutes
