import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../schemas.ts'
import { keysetPage, listQueryWith, pageOf } from '../pagination.ts'
import { AuditEntry, AuditQuery } from './schemas.ts'
import { auditRows } from './store.ts'

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
      const { page, nextCursor } = keysetPage(
        await auditRows(fastify.sql, request.query),
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
