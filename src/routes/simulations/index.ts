import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Conflict, FeatureDisabled, NotFound } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { errorResponses, IdParams, Uuid } from '../../schemas.ts'
import { afterCursor, keysetPage, ListQuery, pageOf } from '../pagination.ts'
import { Accepted, acceptQueued } from '../queued.ts'
import { checkRunQuota } from '../quotas.ts'
import { ownedWorkspace, type TrafficRow } from '../workspaces/index.ts'

const Status = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed')
])

const ComponentResult = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    arrivalRps: Type.Number(),
    utilization: Type.Number(),
    meanLatencyMs: Type.Number(),
    p95LatencyMs: Type.Number(),
    saturated: Type.Boolean()
  },
  { additionalProperties: false }
)
const Overall = Type.Object(
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
const Result = Type.Object(
  {
    mode: Type.String(),
    seed: Type.Integer(),
    samples: Type.Integer(),
    components: Type.Array(ComponentResult),
    overall: Overall
  },
  { additionalProperties: false }
)
const runFields = {
  id: Uuid,
  workspaceId: Uuid,
  status: Status,
  seed: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}
const Simulation = Type.Object(
  { ...runFields, result: Type.Union([Result, Type.Null()]) },
  { additionalProperties: false }
)
/** A run in a list: its overall figures only (a 500-component result is tens of kB). */
const SimulationSummary = Type.Object(
  { ...runFields, overall: Type.Union([Overall, Type.Null()]) },
  { additionalProperties: false }
)
const GradeItem = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    maxPoints: Type.Integer(),
    points: Type.Integer(),
    passed: Type.Boolean(),
    finding: Type.String(),
    suggestion: Type.String()
  },
  { additionalProperties: false }
)
const Grade = Type.Object(
  {
    id: Uuid,
    simulationId: Uuid,
    status: Status,
    score: Type.Union([Type.Integer(), Type.Null()]),
    items: Type.Union([Type.Array(GradeItem), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  },
  { additionalProperties: false }
)

interface RunRow {
  id: string
  workspace_id: string
  status: 'queued' | 'running' | 'completed' | 'failed'
  seed: number
  error: string | null
  created_at: Date
  started_at: Date | null
  completed_at: Date | null
}

const runFieldsOf = (r: RunRow) => ({
  id: r.id,
  workspaceId: r.workspace_id,
  status: r.status,
  seed: r.seed,
  error: r.error,
  createdAt: r.created_at.toISOString(),
  startedAt: r.started_at?.toISOString() ?? null,
  completedAt: r.completed_at?.toISOString() ?? null
})

const RUN_COLUMNS = ['id', 'workspace_id', 'status', 'seed', 'error', 'created_at', 'started_at', 'completed_at']

const simulationRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql

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
          { seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })) },
          { additionalProperties: false }
        ),
        response: { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) }
      }
    },
    async (request, reply) => {
      const id = uuidv7()
      const seed = request.body.seed ?? Math.floor(Math.random() * 2147483647)
      const accepted = await sql.begin(async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        await checkRunQuota(tx, workspace.owner_id, fastify.config.quotas)
        const [traffic] = await tx<
          TrafficRow[]
        >`select * from app.traffic_profiles where workspace_id = ${workspace.id}`
        const snapshot = {
          peakRps: traffic.peak_rps,
          readRatio: traffic.read_ratio,
          payloadKb: traffic.payload_kb,
          latencySloMs: traffic.latency_slo_ms
        }
        // The run, its audit row, its job and the job's telemetry: one transaction, one round trip.
        return acceptQueued(
          fastify,
          tx,
          request,
          { queue: 'simulation', id, data: { runId: id }, changes: { workspaceId: workspace.id, seed } },
          (audit) => tx`
            ${audit}
            insert into app.simulation_runs ${tx({
              id,
              workspace_id: workspace.id,
              owner_id: workspace.owner_id,
              design: workspace.design as never,
              traffic: snapshot as never,
              seed,
              request_id: request.id
            })}
          `
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
      await ownedWorkspace(sql, request, request.params.id)
      const { limit, cursor } = request.query
      const rows = await sql<(RunRow & { overall: unknown })[]>`
        select ${sql(RUN_COLUMNS)}, result -> 'overall' as overall
        from app.simulation_runs
        where workspace_id = ${request.params.id}
          ${afterCursor(sql, cursor)}
        order by created_at desc, id desc
        limit ${limit + 1}
      `
      const { page, nextCursor } = keysetPage(rows, limit)
      return { items: page.map((r) => ({ ...runFieldsOf(r), overall: (r.overall ?? null) as never })), nextCursor }
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
      const [row] = await sql<(RunRow & { result: unknown })[]>`
        select ${sql(RUN_COLUMNS)}, result
        from app.simulation_runs
        where id = ${request.params.id}
          and owner_id = ${request.user?.id as string}
      `
      if (!row) throw new NotFound('Simulation')
      return { ...runFieldsOf(row), result: (row.result ?? null) as never }
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
      const accepted = await sql.begin(async (tx) => {
        const [run] = await tx<{ status: string }[]>`
          select status
          from app.simulation_runs
          where id = ${request.params.id}
            and owner_id = ${request.user?.id as string}
        `
        if (!run) throw new NotFound('Simulation')
        if (run.status !== 'completed')
          throw new Conflict(`The simulation is ${run.status}; grade it once it has completed`)
        return acceptQueued(
          fastify,
          tx,
          request,
          { queue: 'grading', id, data: { gradeId: id }, changes: { simulationId: request.params.id } },
          (audit) =>
            tx`${audit} insert into app.grade_reports ${tx({ id, simulation_id: request.params.id, owner_id: request.user?.id as string })}`
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
      const [row] = await sql`
        select id, simulation_id, status, score, items, error, created_at, completed_at
        from app.grade_reports
        where id = ${request.params.id}
          and owner_id = ${request.user?.id as string}
      `
      if (!row) throw new NotFound('Grade')
      return {
        id: row.id,
        simulationId: row.simulation_id,
        status: row.status,
        score: row.score,
        items: row.items,
        error: row.error,
        createdAt: row.created_at.toISOString(),
        completedAt: row.completed_at?.toISOString() ?? null
      }
    }
  )
}

export default simulationRoutes
