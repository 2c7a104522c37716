import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import type { Design } from '../../domain/model.ts'
import { type Predictions, scorePredictions } from '../../domain/predictions.ts'
import { PredictionsSchema } from '../../domain/resources.ts'
import type { SimulationResult } from '../../domain/schemas.ts'
import { staleness } from '../../domain/staleness.ts'
import { Conflict, FeatureDisabled, NotFound } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { GradingJob, SimulationJob } from '../../queue/messages.ts'
import { insertGrade, ownedGrade } from '../../runs/grades.ts'
import { insertRun, listRuns, ownedRun, ownedRunStatus, type RunInputs, runFieldsOf } from '../../runs/runs.ts'
import { errorResponses, IdParams } from '../../schemas.ts'
import { currentInputs, ownedWorkspace, trafficSnapshot } from '../../workspaces/store.ts'
import { acting } from '../context.ts'
import { afterCursor, keysetPage, ListQuery, pageOf } from '../pagination.ts'
import { Accepted, acceptQueued } from '../queued.ts'
import { checkRunQuota } from '../quotas.ts'
import explainRoutes from './explain.ts'
import { Grade, Simulation, SimulationSummary } from './schemas.ts'

const simulationRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql
  await fastify.register(explainRoutes)

  fastify.post(
    '/workspaces/:id/simulations',
    {
      config: {
        auth: 'user',
        idempotent: true,
        ownership: 'the workspace must belong to the caller, else 404',
        location: '/simulations/',
        audit: { action: 'simulation.create', resourceType: 'simulation' }
      },
      schema: {
        tags: ['simulations'],
        params: IdParams,
        body: Type.Object(
          {
            seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
            predictions: Type.Optional(PredictionsSchema)
          },
          { additionalProperties: false }
        ),
        response: { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) }
      }
    },
    async (request, reply) => {
      const id = uuidv7()
      const seed = request.body.seed ?? Math.floor(Math.random() * 2147483647)
      const accepted = await withContext(sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        await checkRunQuota(tx, workspace.owner_id, fastify.config.quotas)
        const snapshot = await trafficSnapshot(tx, workspace.id)
        // The run, its audit row, its job and the job's telemetry: one transaction, one round trip.
        // The job's group is its owner: the workers run one run of a user at a time (jobs/simulation.ts).
        return acceptQueued(
          fastify,
          tx,
          request,
          {
            message: SimulationJob,
            id,
            data: { runId: id, ownerId: workspace.owner_id },
            changes: { workspaceId: workspace.id, seed },
            group: workspace.owner_id
          },
          (audit) =>
            insertRun(tx, audit, {
              id,
              workspaceId: workspace.id,
              ownerId: workspace.owner_id,
              design: workspace.design,
              traffic: snapshot,
              seed,
              requestId: request.id,
              predictions: request.body.predictions
            })
        )
      })
      return reply.code(202).send(accepted)
    }
  )

  fastify.get(
    '/workspaces/:id/simulations',
    {
      config: { auth: 'user', ownership: 'the workspace must belong to the caller, else 404' },
      schema: {
        tags: ['simulations'],
        params: IdParams,
        querystring: ListQuery,
        description:
          'The runs of a workspace, newest first, each with its overall figures; `GET /simulations/:id` has the figures per component.',
        response: {
          200: pageOf(SimulationSummary),
          ...errorResponses(400, 401, 404, 429)
        }
      }
    },
    async (request) => {
      const { limit, cursor } = request.query
      const { rows, now } = await withContext(sql, acting(request), async (tx) => {
        await ownedWorkspace(tx, request, request.params.id)
        const rows = await listRuns(tx, request.params.id, afterCursor(sql, cursor), limit)
        return { rows, now: await currentInputs(tx, request.params.id) }
      })
      const { page, nextCursor } = keysetPage(rows, limit)
      return {
        items: page.map((r) => ({
          ...runFieldsOf(r),
          ...ageOf(r, now),
          overall: (r.overall ?? null) as never,
          latestGrade: r.grade_id === null ? null : { id: r.grade_id, score: r.grade_score as number }
        })),
        nextCursor
      }
    }
  )

  fastify.get(
    '/simulations/:id',
    {
      config: { auth: 'user', ownership: 'the run must belong to the caller, else 404' },
      schema: {
        tags: ['simulations'],
        params: IdParams,
        response: { 200: Simulation, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const { row, now } = await withContext(sql, acting(request), async (tx) => {
        const row = await ownedRun(tx, request.params.id, request.user?.id as string)
        return { row, now: row ? await currentInputs(tx, row.workspace_id) : null }
      })
      if (!row) throw new NotFound('Simulation')
      return {
        ...runFieldsOf(row),
        ...ageOf(row, now),
        predictions: predictionsOf(row, row.predictions, row.result),
        design: row.design as never,
        result: (row.result ?? null) as never
      }
    }
  )

  fastify.post(
    '/simulations/:id/grade',
    {
      config: {
        auth: 'user',
        idempotent: true,
        ownership: 'the run must belong to the caller, else 404',
        location: '/grades/',
        audit: { action: 'grade.create', resourceType: 'grade' }
      },
      schema: {
        tags: ['grades'],
        params: IdParams,
        body: Type.Object({}, { additionalProperties: false }),
        response: { 202: Accepted, ...errorResponses(400, 401, 404, 409, 413, 415, 422, 429, 503) }
      }
    },
    async (request, reply) => {
      if (!fastify.config.flags.GRADING) throw new FeatureDisabled('Grading')
      const id = uuidv7()
      const accepted = await withContext(sql, acting(request), async (tx) => {
        const status = await ownedRunStatus(tx, request.params.id, request.user?.id as string)
        if (status === null) throw new NotFound('Simulation')
        if (status !== 'completed') throw new Conflict(`The simulation is ${status}; grade it once it has completed`)
        return acceptQueued(
          fastify,
          tx,
          request,
          {
            message: GradingJob,
            id,
            data: { gradeId: id, ownerId: request.user?.id as string },
            changes: { simulationId: request.params.id }
          },
          (audit) =>
            insertGrade(tx, audit, { id, simulationId: request.params.id, ownerId: request.user?.id as string })
        )
      })
      return reply.code(202).send(accepted)
    }
  )

  fastify.get(
    '/grades/:id',
    {
      config: { auth: 'user', ownership: 'the grade must belong to the caller, else 404' },
      schema: { tags: ['grades'], params: IdParams, response: { 200: Grade, ...errorResponses(400, 401, 404, 429) } }
    },
    async (request) => {
      const { row, now } = await withContext(sql, acting(request), async (tx) => {
        const row = await ownedGrade(tx, request.params.id, request.user?.id as string)
        return { row, now: row ? await currentInputs(tx, row.workspace_id) : null }
      })
      if (!row) throw new NotFound('Grade')
      // A grade of a stale run (or by an older rubric) is answered, and says so.
      const age = ageOf(row as unknown as RunInputs, now, row.rubric_version)
      const scored = predictionsOf(
        row as unknown as RunInputs,
        row.predictions,
        row.overall ? { overall: row.overall } : null
      )
      return {
        ...age,
        estimation: scored?.score ?? null,
        id: row.id,
        simulationId: row.simulation_id,
        status: row.status,
        score: row.score,
        items: row.items,
        checks: row.checks ?? null,
        hintPoints: row.hint_points ?? null,
        rubricVersion: row.rubric_version,
        error: row.error,
        createdAt: row.created_at.toISOString(),
        completedAt: row.completed_at?.toISOString() ?? null
      }
    }
  )
}

/** A run's predictions scored against its result (null without predictions, or before the result). */
function predictionsOf(run: RunInputs, predictions: unknown, result: unknown) {
  if (!predictions || !result) return null
  return scorePredictions(
    predictions as Predictions,
    run.design as Design,
    run.traffic,
    result as Pick<SimulationResult, 'overall'>
  )
}

/** A run's (or its grade's) staleness against the workspace now; a deleted workspace's runs are not answered anyway. */
function ageOf(
  run: RunInputs,
  now: Awaited<ReturnType<typeof currentInputs>>,
  rubricVersion?: number | null
): { stale: boolean; staleBecause: ('design' | 'traffic' | 'model' | 'rubric')[] } {
  if (!now) return { stale: false, staleBecause: [] }
  return staleness({ design: run.design, traffic: run.traffic, result: run.model }, now, rubricVersion)
}

export default simulationRoutes
