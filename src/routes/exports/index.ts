import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import { Conflict, FeatureDisabled, NotFound, Unauthorized } from '../../errors.ts'
import { insertExport, ownedExport, ownedExportContent } from '../../exports/store.ts'
import { uuidv7 } from '../../ids.ts'
import { ExportJob } from '../../queue/messages.ts'
import { errorResponses, IdParams } from '../../schemas.ts'
import { ownedWorkspace } from '../../workspaces/store.ts'
import { acting } from '../context.ts'
import { Accepted, acceptQueued } from '../queued.ts'
import { checkExportQuota } from '../quotas.ts'
import { Export, ExportLink, Format } from './schemas.ts'
import { LINK_TTL_MS, signTicket, ticketKey, verifyTicket } from './ticket.ts'

const OWNERSHIP = 'the export must belong to the caller, else 404'

const exportRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql
  const linkKey = ticketKey(fastify.config.jwt.secret)

  fastify.post(
    '/workspaces/:id/exports',
    {
      config: {
        auth: 'user',
        ownership: 'the workspace must belong to the caller, else 404',
        idempotent: true,
        location: '/exports/',
        audit: { action: 'export.create', resourceType: 'export' }
      },
      schema: {
        tags: ['exports'],
        params: IdParams,
        body: Type.Object({ format: Format }, { additionalProperties: false }),
        response: {
          202: Accepted,
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
        }
      }
    },
    async (request, reply) => {
      if (!fastify.config.flags.EXPORTS) throw new FeatureDisabled('Exporting')
      const id = uuidv7()
      const accepted = await withContext(sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        await checkExportQuota(tx, workspace.owner_id, fastify.config.quotas)
        return acceptQueued(
          fastify,
          tx,
          request,
          {
            message: ExportJob,
            id,
            data: { exportId: id, ownerId: workspace.owner_id },
            changes: { workspaceId: workspace.id, format: request.body.format }
          },
          (audit) =>
            insertExport(tx, audit, {
              id,
              workspaceId: workspace.id,
              ownerId: workspace.owner_id,
              format: request.body.format
            })
        )
      })
      return reply.code(202).send(accepted)
    }
  )

  fastify.get(
    '/exports/:id',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: { tags: ['exports'], params: IdParams, response: { 200: Export, ...errorResponses(400, 401, 404, 429) } }
    },
    async (request) => {
      const row = await ownedExport(sql, request.params.id, request.user?.id as string)
      if (!row) throw new NotFound('Export')
      return {
        id: row.id,
        workspaceId: row.workspace_id,
        format: row.format,
        status: row.status,
        filename: row.filename,
        contentType: row.content_type,
        error: row.error,
        createdAt: row.created_at.toISOString(),
        completedAt: row.completed_at?.toISOString() ?? null
      }
    }
  )

  fastify.get(
    '/exports/:id/content',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: {
        tags: ['exports'],
        params: IdParams,
        response: {
          200: {
            description: 'the report, in its own content type',
            content: {
              'text/markdown': { schema: Type.String() },
              'text/html': { schema: Type.String() },
              'application/json': { schema: Type.Object({}, { additionalProperties: true }) }
            }
          },
          ...errorResponses(400, 401, 404, 409, 429)
        }
      }
    },
    async (request, reply) => sendContent(reply, request.params.id, request.user?.id as string, 'attachment')
  )

  fastify.post(
    '/exports/:id/link',
    {
      config: { auth: 'user', ownership: OWNERSHIP, audit: { action: 'export.link', resourceType: 'export' } },
      schema: {
        tags: ['exports'],
        params: IdParams,
        description:
          'A link to the report that works without the Authorization header for a minute: for a browser to open the HTML report in a tab of its own, or to download a file. Signed, not stored.',
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: ExportLink, ...errorResponses(400, 401, 404, 409, 429) }
      }
    },
    async (request) => {
      const userId = request.user?.id as string
      const row = await ownedExport(sql, request.params.id, userId)
      if (!row) throw new NotFound('Export')
      if (row.status !== 'completed') throw new Conflict(`The export is ${row.status}; link it once completed`)
      const expiresAt = new Date(fastify.clock().getTime() + LINK_TTL_MS)
      const ticket = signTicket(linkKey, row.id, userId, expiresAt)
      await request.audit(sql, { resourceId: row.id, statusCode: 200, changes: { expiresAt: expiresAt.toISOString() } })
      return { url: `/exports/${row.id}/download?ticket=${ticket}`, expiresAt: expiresAt.toISOString() }
    }
  )

  fastify.get(
    '/exports/:id/download',
    {
      // Public: the signed ticket is the authority, and names the owner whose export it opens.
      config: { auth: 'public' },
      schema: {
        tags: ['exports'],
        params: IdParams,
        querystring: Type.Object(
          {
            ticket: Type.String({ maxLength: 200 }),
            disposition: Type.Optional(Type.Union([Type.Literal('inline'), Type.Literal('attachment')]))
          },
          { additionalProperties: false }
        ),
        response: {
          200: {
            description: 'the report, in its own content type',
            content: { 'text/html': { schema: Type.String() } }
          },
          ...errorResponses(400, 401, 404, 409, 429)
        }
      }
    },
    async (request, reply) => {
      const userId = verifyTicket(linkKey, request.params.id, request.query.ticket, fastify.clock())
      if (!userId) throw new Unauthorized()
      reply.header('cache-control', 'no-store')
      return sendContent(reply, request.params.id, userId, request.query.disposition ?? 'attachment')
    }
  )

  async function sendContent(reply: FastifyReply, id: string, userId: string, disposition: 'inline' | 'attachment') {
    const row = await ownedExportContent(sql, id, userId)
    if (!row) throw new NotFound('Export')
    if (row.status !== 'completed' || row.content === null)
      throw new Conflict(`The export is ${row.status}; fetch it once completed`)
    reply.header('content-type', row.content_type)
    reply.header('content-disposition', `${disposition}; filename="${row.filename}"`)
    // The HTML report is a document of its own: it may style itself but still runs no script.
    if (row.content_type.startsWith('text/html')) {
      reply.header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
      )
    }
    return reply.send(row.content)
  }
}

export default exportRoutes
