import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFound } from '../../errors.ts'
import { fromPostgresJs } from '../../queue/boss.ts'
import { JOB_STATES } from '../../queue/jobs.ts'
import { listJobs } from '../../queue/statements.ts'
import { errorResponses, Uuid } from '../../schemas.ts'
import { afterCursor, keysetPage, listQueryWith, pageOf } from '../pagination.ts'
import { Job } from './schemas.ts'

const adminJobRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const QUEUE_NAMES = fastify.queueNames
  fastify.get(
    '/admin/jobs',
    {
      config: { auth: 'admin', audit: { action: 'admin.jobs.read', resourceType: 'job' } },
      schema: {
        tags: ['admin'],
        querystring: listQueryWith(
          Type.Object({
            queue: Type.Optional(Type.Union(QUEUE_NAMES.map((name) => Type.Literal(name)))),
            state: Type.Optional(Type.Union(JOB_STATES.map((state) => Type.Literal(state))))
          }),
          200,
          50
        ),
        response: { 200: pageOf(Job), ...errorResponses(400, 401, 403, 429) }
      }
    },
    async (request) => {
      const { queue, state, cursor, limit } = request.query
      const sql = fastify.sql
      const rows = await listJobs(
        sql,
        queue ? [queue] : QUEUE_NAMES,
        state,
        afterCursor(sql, cursor, 'created', 'created_on'),
        limit
      )
      const { page, nextCursor } = keysetPage(
        rows.map((r) => ({ ...r, created_at: r.created_on })),
        limit
      )
      return {
        nextCursor,
        items: page.map((r) => ({
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

export default adminJobRoutes
