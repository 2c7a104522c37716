import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { pgArray } from '../../db/client.ts'
import { NotFound } from '../../errors.ts'
import { fromPostgresJs } from '../../queue/boss.ts'
import { listJobs } from '../../queue/statements.ts'
import { errorResponses, IdParams, Uuid } from '../../schemas.ts'
import { clearFailures } from '../auth/lockout.ts'

const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const

const AuditEntry = Type.Object(
  {
    id: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    requestId: Type.Union([Type.String(), Type.Null()]),
    userId: Type.Union([Type.String(), Type.Null()]),
    action: Type.String(),
    resourceType: Type.Union([Type.String(), Type.Null()]),
    resourceId: Type.Union([Type.String(), Type.Null()]),
    method: Type.Union([Type.String(), Type.Null()]),
    path: Type.Union([Type.String(), Type.Null()]),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    outcome: Type.String(),
    changes: Type.Unknown(),
    ipAddress: Type.Union([Type.String(), Type.Null()]),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    /** Null for the second or so before the sealer links the row into the chain. */
    hash: Type.Union([Type.String(), Type.Null()])
  },
  { additionalProperties: false }
)

const adminRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const QUEUE_NAMES = fastify.queueNames
  fastify.post(
    '/admin/users/:id/unlock',
    {
      config: { auth: 'admin', audit: { action: 'admin.user.unlock', resourceType: 'user' } },
      schema: {
        tags: ['admin'],
        params: IdParams,
        response: {
          200: Type.Object({ id: Type.String(), unlocked: Type.Boolean() }, { additionalProperties: false }),
          ...errorResponses(400, 401, 403, 404, 429)
        }
      }
    },
    async (request) => {
      const unlocked = await fastify.sql.begin(async (tx) => {
        const [user] = await tx<{ email_normalized: string }[]>`
          select email_normalized
          from app.users
          where id = ${request.params.id}
        `
        if (!user) return null
        const cleared = await clearFailures(tx, user.email_normalized)
        await request.audit(tx, { changes: { unlocked: cleared } })
        return cleared
      })
      if (unlocked === null) throw new NotFound('User')
      return { id: request.params.id, unlocked }
    }
  )

  for (const action of ['disable', 'enable'] as const) {
    fastify.post(
      `/admin/users/:id/${action}`,
      {
        config: { auth: 'admin', audit: { action: `admin.user.${action}`, resourceType: 'user' } },
        schema: {
          tags: ['admin'],
          params: IdParams,
          response: {
            200: Type.Object({ id: Type.String(), disabled: Type.Boolean() }, { additionalProperties: false }),
            ...errorResponses(400, 401, 403, 404, 429)
          }
        }
      },
      async (request) => {
        const id = request.params.id
        const found = await fastify.sql.begin(async (tx) => {
          const [user] =
            action === 'disable'
              ? await tx`
                  update app.users
                  set disabled_at = coalesce(disabled_at, now()), token_version = token_version + 1, updated_at = now()
                  where id = ${id}
                  returning id
                `
              : await tx`update app.users set disabled_at = null, updated_at = now() where id = ${id} returning id`
          if (!user) return false
          if (action === 'disable') {
            await tx`update app.refresh_tokens set revoked_at = now() where user_id = ${id} and revoked_at is null`
          }
          await request.audit(tx, { changes: { disabled: action === 'disable' } })
          return true
        })
        if (!found) throw new NotFound('User')
        fastify.tokens.forget(id)
        return { id, disabled: action === 'disable' }
      }
    )
  }

  fastify.get(
    '/admin/flags',
    {
      config: { auth: 'admin', audit: { action: 'admin.flags.read', resourceType: 'flag' } },
      schema: {
        tags: ['admin'],
        response: {
          200: Type.Object({ flags: Type.Record(Type.String(), Type.Boolean()) }, { additionalProperties: false }),
          ...errorResponses(401, 403, 429)
        }
      }
    },
    async () => ({ flags: { ...fastify.config.flags } })
  )

  fastify.get(
    '/admin/audit-logs',
    {
      config: { auth: 'admin', audit: { action: 'admin.audit_logs.read', resourceType: 'audit_log' } },
      schema: {
        tags: ['admin'],
        querystring: Type.Object(
          {
            since: Type.Optional(Type.String({ format: 'date-time' })),
            until: Type.Optional(Type.String({ format: 'date-time' })),
            action: Type.Optional(Type.String({ maxLength: 100 })),
            userId: Type.Optional(Uuid),
            resourceType: Type.Optional(Type.String({ maxLength: 100 })),
            cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 })
          },
          { additionalProperties: false }
        ),
        response: {
          200: Type.Object(
            { items: Type.Array(AuditEntry), nextCursor: Type.Union([Type.String(), Type.Null()]) },
            { additionalProperties: false }
          ),
          ...errorResponses(400, 401, 403, 429)
        }
      }
    },
    async (request) => {
      const q = request.query
      const sql = fastify.sql
      // Newest first; the cursor is the last id seen.
      const rows = await sql`
        select *
        from app.audit_log
        where true
          ${q.since ? sql`and created_at >= ${new Date(q.since)}` : sql``}
          ${q.until ? sql`and created_at < ${new Date(q.until)}` : sql``}
          ${q.action ? sql`and action = ${q.action}` : sql``}
          ${q.userId ? sql`and user_id = ${q.userId}` : sql``}
          ${q.resourceType ? sql`and resource_type = ${q.resourceType}` : sql``}
          ${q.cursor ? sql`and id < ${q.cursor}` : sql``}
        order by id desc
        limit ${q.limit + 1}
      `
      const page = rows.slice(0, q.limit)
      return {
        items: page.map((r) => ({
          id: String(r.id),
          createdAt: r.created_at.toISOString(),
          requestId: r.request_id,
          userId: r.user_id,
          action: r.action,
          resourceType: r.resource_type,
          resourceId: r.resource_id,
          method: r.method,
          path: r.path,
          statusCode: r.status_code,
          outcome: r.outcome,
          changes: r.changes,
          ipAddress: r.ip_address,
          userAgent: r.user_agent,
          hash: r.hash
        })),
        nextCursor: rows.length > q.limit ? String(page[page.length - 1].id) : null
      }
    }
  )

  fastify.get(
    '/admin/telemetry/summary',
    {
      config: { auth: 'admin', audit: { action: 'admin.telemetry.read', resourceType: 'telemetry' } },
      schema: {
        tags: ['admin'],
        querystring: Type.Object(
          { windowMinutes: Type.Integer({ minimum: 1, maximum: 10080, default: 60 }) },
          { additionalProperties: false }
        ),
        response: {
          200: Type.Object(
            {
              windowMinutes: Type.Integer(),
              routes: Type.Array(
                Type.Object(
                  {
                    method: Type.String(),
                    route: Type.Union([Type.String(), Type.Null()]),
                    count: Type.Integer(),
                    errorRate: Type.Number(),
                    p50Ms: Type.Number(),
                    p95Ms: Type.Number(),
                    p99Ms: Type.Number()
                  },
                  { additionalProperties: false }
                )
              )
            },
            { additionalProperties: false }
          ),
          ...errorResponses(400, 401, 403, 429)
        }
      }
    },
    async (request) => {
      const since = new Date(Date.now() - request.query.windowMinutes * 60_000)
      const rows = await fastify.sql<
        {
          method: string
          route: string | null
          count: number
          error_rate: number
          p50: number
          p95: number
          p99: number
        }[]
      >`
        select method,
               route,
               count(*)::int as count,
               avg((status_code >= 500)::int)::float8 as error_rate,
               percentile_cont(0.50) within group (order by duration_ms) as p50,
               percentile_cont(0.95) within group (order by duration_ms) as p95,
               percentile_cont(0.99) within group (order by duration_ms) as p99
        from app.request_telemetry
        where created_at >= ${since}
        group by method, route
        order by count desc
      `
      return {
        windowMinutes: request.query.windowMinutes,
        routes: rows.map((r) => ({
          method: r.method,
          route: r.route,
          count: r.count,
          errorRate: r.error_rate,
          p50Ms: r.p50,
          p95Ms: r.p95,
          p99Ms: r.p99
        }))
      }
    }
  )

  const Job = Type.Object(
    {
      id: Uuid,
      queue: Type.String(),
      state: Type.String(),
      retryCount: Type.Integer(),
      retryLimit: Type.Integer(),
      createdOn: Type.String(),
      startedOn: Type.Union([Type.String(), Type.Null()]),
      completedOn: Type.Union([Type.String(), Type.Null()]),
      output: Type.Unknown()
    },
    { additionalProperties: false }
  )

  fastify.get(
    '/admin/jobs',
    {
      config: { auth: 'admin', audit: { action: 'admin.jobs.read', resourceType: 'job' } },
      schema: {
        tags: ['admin'],
        querystring: Type.Object(
          {
            queue: Type.Optional(Type.Union(QUEUE_NAMES.map((name) => Type.Literal(name)))),
            state: Type.Optional(Type.Union(JOB_STATES.map((state) => Type.Literal(state)))),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 })
          },
          { additionalProperties: false }
        ),
        response: {
          200: Type.Object({ items: Type.Array(Job) }, { additionalProperties: false }),
          ...errorResponses(400, 401, 403, 429)
        }
      }
    },
    async (request) => {
      const { queue, state, limit } = request.query
      const rows = await listJobs(fastify.sql, queue ? [queue] : QUEUE_NAMES, state, limit)
      return {
        items: rows.map((r) => ({
          id: r.id,
          queue: r.name,
          state: r.state,
          retryCount: r.retry_count,
          retryLimit: r.retry_limit,
          createdOn: r.created_on.toISOString(),
          startedOn: r.started_on?.toISOString() ?? null,
          completedOn: r.completed_on?.toISOString() ?? null,
          output: r.output
        }))
      }
    }
  )

  fastify.post(
    '/admin/jobs/:queue/:id/retry',
    {
      config: { auth: 'admin', audit: { action: 'admin.job.retry', resourceType: 'job' } },
      schema: {
        tags: ['admin'],
        params: Type.Object(
          { queue: Type.Union(QUEUE_NAMES.map((name) => Type.Literal(name))), id: Uuid },
          { additionalProperties: false }
        ),
        response: {
          202: Type.Object({ id: Uuid, queue: Type.String(), state: Type.String() }, { additionalProperties: false }),
          ...errorResponses(400, 401, 403, 404, 409, 429)
        }
      }
    },
    async (request, reply) => {
      const { queue, id } = request.params
      const job = await fastify.boss.getJobById(queue, id)
      if (!job) throw new NotFound('Job')
      if (job.state !== 'failed' && job.state !== 'cancelled') {
        return reply.code(409).send({
          statusCode: 409,
          code: 'APP_ERR_JOB_NOT_RETRYABLE',
          error: 'Conflict',
          message: `Only failed or cancelled jobs can be retried; this one is ${job.state}`,
          requestId: request.id
        })
      }
      await fastify.sql.begin(async (tx) => {
        await fastify.boss.retry(queue, id, { db: fromPostgresJs(tx) })
        await request.audit(tx, { resourceId: id, statusCode: 202, changes: { queue, previousState: job.state } })
      })
      return reply.code(202).send({ id, queue, state: 'retry' })
    }
  )
}

export default adminRoutes
