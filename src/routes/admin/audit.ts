import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditRows } from '../../audit/log.ts'
import { errorResponses } from '../../schemas.ts'
import { afterCursor, instantOf, keysetPage, listQueryWith, pageOf } from '../pagination.ts'
import { AuditEntry, AuditQuery } from './schemas.ts'

const adminAuditRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/admin/audit-logs',
    {
      config: { auth: 'admin', audit: { action: 'admin.audit_logs.read', resourceType: 'audit_log' } },
      schema: {
        tags: ['admin'],
        querystring: listQueryWith(AuditQuery, 200, 50),
        response: { 200: pageOf(AuditEntry), ...errorResponses(400, 401, 403, 429) }
      }
    },
    async (request) => {
      const query = request.query
      const { page, nextCursor } = keysetPage(
        await auditRows(
          fastify.sql,
          {
            ...query,
            since: query.since === undefined ? undefined : instantOf(query.since, 'since'),
            until: query.until === undefined ? undefined : instantOf(query.until, 'until')
          },
          afterCursor(fastify.sql, query.cursor, 'serial'),
          query.limit
        ),
        request.query.limit,
        'serial'
      )
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
        nextCursor
      }
    }
  )
}

export default adminAuditRoutes
