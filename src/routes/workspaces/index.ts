import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Sql, TransactionSql } from '../../db/client.ts'
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

export interface WorkspaceRow {
  id: string
  owner_id: string
  name: string
  description: string
  design: Design
  version: number
  created_at: Date
  updated_at: Date
}

export interface TrafficRow {
  workspace_id: string
  peak_rps: number
  read_ratio: number
  payload_kb: number
  latency_slo_ms: number
  version: number
  updated_at: Date
}

const OWNERSHIP = 'the workspace must belong to the caller, else 404'

export function toWorkspace(row: WorkspaceRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    design: row.design,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

export function toTraffic(row: TrafficRow) {
  return {
    workspaceId: row.workspace_id,
    peakRps: row.peak_rps,
    readRatio: row.read_ratio,
    payloadKb: row.payload_kb,
    latencySloMs: row.latency_slo_ms,
    version: row.version,
    updatedAt: row.updated_at.toISOString()
  }
}

/** The caller's workspace or a 404: another user's id is indistinguishable from a missing one. */
export async function ownedWorkspace(
  sql: Sql | TransactionSql,
  request: FastifyRequest,
  id: string
): Promise<WorkspaceRow> {
  const [row] = await sql<WorkspaceRow[]>`
    select *
    from app.workspaces
    where id = ${id}
      and owner_id = ${request.user?.id as string}
  `
  if (!row) throw new NotFound('Workspace')
  return row
}

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
      const rows = await sql<(WorkspaceRow & { component_count: number })[]>`
        select id, name, description, version, created_at, updated_at,
               jsonb_array_length(design -> 'components') as component_count
        from app.workspaces
        where owner_id = ${request.user?.id as string}
          ${afterCursor(sql, cursor)}
        order by created_at desc, id desc
        limit ${limit + 1}
      `
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
        // Issued together: postgres.js pipelines them in one round trip.
        const [[created]] = await Promise.all([
          tx<WorkspaceRow[]>`
            ${request.auditWith(tx, { resourceId: id, statusCode: 201 })}
            insert into app.workspaces ${tx({ id, owner_id: request.user?.id as string, name: name.trim(), description, design: design as never })}
            returning *
          `,
          tx`
            insert into app.traffic_profiles ${tx({
              workspace_id: id,
              peak_rps: trafficProfile.peakRps,
              read_ratio: trafficProfile.readRatio,
              payload_kb: trafficProfile.payloadKb,
              latency_slo_ms: trafficProfile.latencySloMs
            })}
          `
        ])
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
        const [updated] = await tx<WorkspaceRow[]>`
          ${request.auditWith(tx, { statusCode: 200 })}
          update app.workspaces
          set ${tx(changes as never)}, version = version + 1, updated_at = now()
          where id = ${request.params.id}
            and owner_id = ${request.user?.id as string}
            and version = ${version}
          returning *
        `
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
        const [deleted] = await tx`
          ${request.auditWith(tx, { statusCode: 204 })}
          delete from app.workspaces
          where id = ${request.params.id}
            and owner_id = ${request.user?.id as string}
          returning id
        `
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
      const [row] = await sql<TrafficRow[]>`
        select t.*
        from app.traffic_profiles t
        join app.workspaces w on w.id = t.workspace_id
        where t.workspace_id = ${request.params.id}
          and w.owner_id = ${request.user?.id as string}
      `
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
        const [updated] = await tx<TrafficRow[]>`
          ${request.auditWith(tx, { statusCode: 200 })}
          update app.traffic_profiles t
          set ${tx(changes)}, version = t.version + 1, updated_at = now()
          from app.workspaces w
          where t.workspace_id = ${request.params.id}
            and w.id = t.workspace_id
            and w.owner_id = ${request.user?.id as string}
            and t.version = ${version}
          returning t.*
        `
        if (updated) return toTraffic(updated)
        await ownedWorkspace(tx, request, request.params.id)
        const [current] = await tx<{ version: number }[]>`
          select version from app.traffic_profiles where workspace_id = ${request.params.id}
        `
        throw new VersionConflictError(current.version)
      })
    }
  )
}

export default workspaceRoutes
