import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../../schemas.ts'
import { RouteSummary } from './schemas.ts'
import { routeSummary } from './store.ts'

const adminOperationsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
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
              routes: Type.Array(RouteSummary)
            },
            { additionalProperties: false }
          ),
          ...errorResponses(400, 401, 403, 429)
        }
      }
    },
    async (request) => {
      const since = new Date(Date.now() - request.query.windowMinutes * 60_000)
      const rows = await routeSummary(fastify.sql, since)
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
}

export default adminOperationsRoutes
