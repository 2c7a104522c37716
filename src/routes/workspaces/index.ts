import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { DEFAULT_TRAFFIC, type Design } from '../../domain/model.ts'
import { validateDesign } from '../../domain/validate.ts'
import { InvalidDesignError, NotFound, VersionConflictError } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { ErrorResponse, errorResponses, IdParams } from '../../schemas.ts'
import { afterCursor, keysetPage, ListQuery, pageOf } from '../pagination.ts'
import { checkWorkspaceQuota } from '../quotas.ts'
import {
  Description,
  DesignSchema,
  InvalidDesign,
  Name,
  TrafficProfileResponse,
  TrafficProfileSchema,
  Version,
  VersionConflict,
  Workspace,
  WorkspaceSummary
} from './schemas.ts'
import {
  deleteWorkspace,
  insertWorkspace,
  listWorkspaces,
  ownedTraffic,
  ownedWorkspace,
  toTraffic,
  toWorkspace,
  trafficVersion,
  updateTraffic,
  updateWorkspace
} from './store.ts'

const OWNERSHIP = 'the workspace must belong to the caller, else 404'

function checkDesign(design: Design): void {
  const problems = validateDesign(design)
  if (problems.length > 0) throw new InvalidDesignError(problems)
}

const workspaceRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql

  fastify.get(
    '/workspaces',
    {
      config: { auth: 'user', ownership: 'lists only the caller’s workspaces' },
      schema: {
        tags: ['workspaces'],
        querystring: ListQuery,
        response: {
          200: pageOf(WorkspaceSummary),
          ...errorResponses(400, 401, 429)
        }
      }
    },
    async (request) => {
      const { limit, cursor } = request.query
      const rows = await listWorkspaces(sql, request.user?.id as string, afterCursor(sql, cursor), limit)
      const { page, nextCursor } = keysetPage(rows, limit)
      return {
        items: page.map((r) => ({
          id: r.id,
          name: r.name,
          description: r.description,
          version: r.version,
          components: r.component_count,
          createdAt: r.created_at.toISOString(),
          updatedAt: r.updated_at.toISOString()
        })),
        nextCursor
      }
    }
  )

  fastify.post(
    '/workspaces',
    {
      config: {
        auth: 'user',
        idempotent: true,
        location: '/workspaces/',
        audit: { action: 'workspace.create', resourceType: 'workspace' }
      },
      schema: {
        tags: ['workspaces'],
        body: Type.Object(
          {
            name: Name,
            description: Type.Optional(Description),
            design: DesignSchema,
            trafficProfile: Type.Optional(TrafficProfileSchema)
          },
          { additionalProperties: false }
        ),
        response: {
          201: Workspace,
          422: Type.Union([InvalidDesign, ErrorResponse]),
          ...errorResponses(400, 401, 403, 409, 413, 415, 429, 503)
        }
      }
    },
    async (request, reply) => {
      const { name, description = '', design, trafficProfile = DEFAULT_TRAFFIC } = request.body
      checkDesign(design as Design)
      const id = uuidv7()
      const row = await sql.begin(async (tx) => {
        await checkWorkspaceQuota(tx, request.user?.id as string, fastify.config.quotas)
        const created = await insertWorkspace(tx, request.auditWith(tx, { resourceId: id, statusCode: 201 }), {
          id,
          ownerId: request.user?.id as string,
          name: name.trim(),
          description,
          design: design as Design,
          traffic: trafficProfile
        })
        const body = toWorkspace(created)
        await request.idempotent(tx, 201, body)
        return body
      })
      return reply.code(201).send(row)
    }
  )

  fastify.get(
    '/workspaces/:id',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        response: { 200: Workspace, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => toWorkspace(await ownedWorkspace(sql, request, request.params.id))
  )

  fastify.patch(
    '/workspaces/:id',
    {
      config: { auth: 'user', ownership: OWNERSHIP, audit: { action: 'workspace.update', resourceType: 'workspace' } },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        body: Type.Object(
          {
            version: Version,
            name: Type.Optional(Name),
            description: Type.Optional(Description),
            design: Type.Optional(DesignSchema)
          },
          { additionalProperties: false, minProperties: 2 }
        ),
        response: {
          200: Workspace,
          409: VersionConflict,
          422: InvalidDesign,
          ...errorResponses(400, 401, 404, 413, 415, 429)
        }
      }
    },
    async (request) => {
      const { version, name, description, design } = request.body
      if (design) checkDesign(design as Design)
      const changes: Record<string, unknown> = {}
      if (name !== undefined) changes.name = name.trim()
      if (description !== undefined) changes.description = description
      if (design !== undefined) changes.design = design
      return sql.begin(async (tx) => {
        const updated = await updateWorkspace(
          tx,
          request.auditWith(tx, { statusCode: 200 }),
          { id: request.params.id, ownerId: request.user?.id as string, version },
          changes
        )
        if (updated) return toWorkspace(updated)
        // Nothing matched: a missing (or foreign) workspace, or a stale version. Either way, roll back.
        const current = await ownedWorkspace(tx, request, request.params.id)
        throw new VersionConflictError(current.version)
      })
    }
  )

  fastify.delete(
    '/workspaces/:id',
    {
      config: { auth: 'user', ownership: OWNERSHIP, audit: { action: 'workspace.delete', resourceType: 'workspace' } },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request, reply) => {
      await sql.begin(async (tx) => {
        const deleted = await deleteWorkspace(
          tx,
          request.auditWith(tx, { statusCode: 204 }),
          request.params.id,
          request.user?.id as string
        )
        if (!deleted) throw new NotFound('Workspace')
      })
      return reply.code(204).send(null)
    }
  )

  fastify.get(
    '/workspaces/:id/traffic-profile',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        response: { 200: TrafficProfileResponse, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) => {
      const row = await ownedTraffic(sql, request.params.id, request.user?.id as string)
      if (!row) throw new NotFound('Workspace')
      return toTraffic(row)
    }
  )

  fastify.patch(
    '/workspaces/:id/traffic-profile',
    {
      config: {
        auth: 'user',
        ownership: OWNERSHIP,
        audit: { action: 'traffic_profile.update', resourceType: 'workspace' }
      },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        body: Type.Object(
          {
            version: Version,
            peakRps: Type.Optional(TrafficProfileSchema.properties.peakRps),
            readRatio: Type.Optional(TrafficProfileSchema.properties.readRatio),
            payloadKb: Type.Optional(TrafficProfileSchema.properties.payloadKb),
            latencySloMs: Type.Optional(TrafficProfileSchema.properties.latencySloMs)
          },
          { additionalProperties: false, minProperties: 2 }
        ),
        response: { 200: TrafficProfileResponse, 409: VersionConflict, ...errorResponses(400, 401, 404, 413, 415, 429) }
      }
    },
    async (request) => {
      const { version, peakRps, readRatio, payloadKb, latencySloMs } = request.body
      const changes: Record<string, number> = {}
      if (peakRps !== undefined) changes.peak_rps = peakRps
      if (readRatio !== undefined) changes.read_ratio = readRatio
      if (payloadKb !== undefined) changes.payload_kb = payloadKb
      if (latencySloMs !== undefined) changes.latency_slo_ms = latencySloMs
      return sql.begin(async (tx) => {
        const updated = await updateTraffic(
          tx,
          request.auditWith(tx, { statusCode: 200 }),
          { id: request.params.id, ownerId: request.user?.id as string, version },
          changes
        )
        if (updated) return toTraffic(updated)
        await ownedWorkspace(tx, request, request.params.id)
        throw new VersionConflictError(await trafficVersion(tx, request.params.id))
      })
    }
  )
}

export default workspaceRoutes
