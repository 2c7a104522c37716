import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import { SharedWorkspaceSchema, ShareLinkSchema, ShareStatusSchema, WorkspaceSchema } from '../../domain/resources.ts'
import { Forbidden, NotFound } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { errorResponses, IdParams } from '../../schemas.ts'
import { insertWorkspace, ownedWorkspace, profileOf, toWorkspace } from '../../workspaces/store.ts'
import { acting } from '../context.ts'
import { checkWorkspaceQuota } from '../quotas.ts'
import { insertShare, liveShare, revokeShares, sharedLatestRun, sharedWorkspace, shareRefusal } from './store.ts'

// Read-only share links of a workspace (issue 39). The link is `/shared/<token>`: the token is
// unguessable (32 random bytes), kept only as its SHA-256, revocable and expiring; the page the link
// opens reads `GET /shares/<token>`, which shows the design, its last result and grade and nothing of
// its owner; a signed-in learner forks it into a workspace of their own. Every response carries
// `Referrer-Policy: no-referrer` (plugins/security.ts), so the token never leaves in a Referer, and
// logs, telemetry and the audit log keep the route, not the token (src/paths.ts).

const OWNERSHIP = 'the workspace must belong to the caller, else 404'
const TokenParams = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 128, description: 'the token of the share link' }) },
  { additionalProperties: false }
)
/** How long a link lives unless told (days), and at most. */
const DEFAULT_DAYS = 7
const MAX_DAYS = 30

const shareRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql

  fastify.post(
    '/workspaces/:id/shares',
    {
      config: { auth: 'user', ownership: OWNERSHIP, audit: { action: 'workspace.share', resourceType: 'workspace' } },
      schema: {
        tags: ['shares'],
        params: IdParams,
        description: `A read-only link to the workspace, live for \`expiresInDays\` (default ${DEFAULT_DAYS}, at most ${MAX_DAYS}); it replaces the workspace's live link, if any. The token is in the answer this once. An exercise attempt is refused (403) until its exercise's reference is revealed to the caller; a class assignment's attempt always.`,
        body: Type.Object(
          { expiresInDays: Type.Optional(Type.Integer({ title: 'Days', minimum: 1, maximum: MAX_DAYS })) },
          { additionalProperties: false }
        ),
        response: { 201: ShareLinkSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const ownerId = request.user?.id as string
      const days = request.body?.expiresInDays ?? DEFAULT_DAYS
      const token = randomBytes(32).toString('base64url')
      const created = await withContext(sql, { userId: ownerId }, async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        const refusal = await shareRefusal(tx, workspace.id, ownerId)
        if (refusal) throw new Forbidden(refusal)
        await revokeShares(tx, workspace.id)
        return insertShare(tx, request.audit(tx, { statusCode: 201, changes: { expiresInDays: days } }), {
          id: uuidv7(),
          workspaceId: workspace.id,
          ownerId,
          token,
          expiresAt: new Date(fastify.clock().getTime() + days * 86_400_000)
        })
      })
      return reply.code(201).send({
        url: `/shared/${token}`,
        token,
        expiresAt: created.expires_at.toISOString(),
        createdAt: created.created_at.toISOString()
      })
    }
  )

  fastify.get(
    '/workspaces/:id/shares',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: {
        tags: ['shares'],
        params: IdParams,
        description: 'Whether the workspace has a live share link, and until when (its token is never shown again).',
        response: { 200: ShareStatusSchema, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const live = await withContext(sql, acting(request), async (tx) =>
        liveShare(tx, (await ownedWorkspace(tx, request, request.params.id)).id)
      )
      return {
        live: live ? { expiresAt: live.expires_at.toISOString(), createdAt: live.created_at.toISOString() } : null
      }
    }
  )

  fastify.delete(
    '/workspaces/:id/shares',
    {
      config: {
        auth: 'user',
        ownership: OWNERSHIP,
        audit: { action: 'workspace.unshare', resourceType: 'workspace' }
      },
      schema: {
        tags: ['shares'],
        params: IdParams,
        description: 'Revokes the workspace’s share link: it answers 404 from now on.',
        response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request, reply) => {
      await withContext(sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        await revokeShares(tx, workspace.id, request.audit(tx, { statusCode: 204 }))
      })
      return reply.code(204).send(null)
    }
  )

  fastify.get(
    '/shares/:token',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['shares'],
        params: TokenParams,
        description:
          'The workspace a live share link shows: its design, traffic profile, last result and grade, nothing of its owner. 404 when the link is unknown, revoked or expired.',
        response: { 200: SharedWorkspaceSchema, ...errorResponses(400, 404, 429) }
      }
    },
    async (request, reply) => {
      const row = await sharedWorkspace(sql, request.params.token)
      if (!row) throw new NotFound('Share link')
      const last = await sharedLatestRun(sql, request.params.token)
      reply.header('cache-control', 'no-store')
      return {
        name: row.name,
        description: row.description,
        design: row.design,
        trafficProfile: profileOf(row),
        lastRun: last ? { simulatedAt: last.created_at.toISOString(), result: last.result as never } : null,
        grade: last && last.grade_score !== null ? { score: last.grade_score, items: last.grade_items as never } : null,
        expiresAt: row.expires_at.toISOString()
      }
    }
  )

  fastify.post(
    '/shares/:token/forks',
    {
      config: { auth: 'user', audit: { action: 'workspace.fork', resourceType: 'workspace' } },
      schema: {
        tags: ['shares'],
        params: TokenParams,
        description:
          'A workspace of the caller’s own with the shared design and traffic profile (“… (fork)”). 404 when the link is unknown, revoked or expired.',
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 201: WorkspaceSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const ownerId = request.user?.id as string
      const id = uuidv7()
      const created = await withContext(sql, acting(request), async (tx) => {
        const shared = await sharedWorkspace(tx, request.params.token)
        if (!shared) throw new NotFound('Share link')
        await checkWorkspaceQuota(tx, ownerId, fastify.config.quotas)
        return insertWorkspace(
          tx,
          request.audit(tx, { resourceId: id, statusCode: 201, changes: { forkedFrom: shared.id } }),
          {
            id,
            ownerId,
            name: `${shared.name.slice(0, 113)} (fork)`,
            description: shared.description,
            design: shared.design,
            traffic: profileOf(shared)
          }
        )
      })
      return reply.code(201).header('location', `/workspaces/${id}`).send(toWorkspace(created))
    }
  )
}

export default shareRoutes
