import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import type { Catalogue } from '../../domain/components.ts'
import { applyDesignChange } from '../../domain/design-change.ts'
import { DEFAULT_TRAFFIC, type Design, LIMITS, type TrafficProfile } from '../../domain/model.ts'
import { withSubjects } from '../../domain/plain-problems.ts'
import { PREVIEW_SAMPLES } from '../../domain/preview.ts'
import type { DesignDocument } from '../../domain/schemas.ts'
import { validateDesign } from '../../domain/validate.ts'
import { BadRequest, InvalidDesignError, NotFound, QuotaExceeded, VersionConflictError } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { ErrorResponse, errorResponses, IdParams } from '../../schemas.ts'
import {
  deleteWorkspace,
  insertWorkspace,
  listWorkspaces,
  ownedTraffic,
  ownedVersions,
  ownedWorkspace,
  toTraffic,
  toWorkspace,
  trafficSnapshot,
  trafficVersion,
  updateTraffic,
  updateWorkspace,
  workspaceAs
} from '../../workspaces/store.ts'
import { acting } from '../context.ts'
import { refuseLockedChanges } from '../exercises/locks.ts'
import { afterCursor, keysetPage, ListQuery, pageOf } from '../pagination.ts'
import { checkStorageQuota, checkWorkspaceQuota } from '../quotas.ts'
import { Preview } from '../simulations/schemas.ts'
import {
  Description,
  DesignChangeSchema,
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

const OWNERSHIP = 'the workspace must belong to the caller, else 404'

function checkDesign(design: Design, catalogue: Catalogue): void {
  const problems = validateDesign(design, catalogue)
  if (problems.length > 0) throw new InvalidDesignError(withSubjects(problems, design))
}

/** Previews a user may ask for per minute, per api instance (each is an engine run on a preview thread). */
const PREVIEWS_PER_MINUTE = 60

const workspaceRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const sql = fastify.sql
  // A window of previews per user; entries of past windows are dropped as new ones come.
  const previews = new Map<string, { windowStart: number; count: number }>()
  function spendPreview(userId: string) {
    const now = Date.now()
    const entry = previews.get(userId)
    if (!entry || now - entry.windowStart >= 60_000) {
      if (previews.size > 10_000) for (const [id, e] of previews) if (now - e.windowStart >= 60_000) previews.delete(id)
      previews.set(userId, { windowStart: now, count: 1 })
      return
    }
    if (++entry.count > PREVIEWS_PER_MINUTE)
      throw QuotaExceeded(`At most ${PREVIEWS_PER_MINUTE} previews a minute`, (entry.windowStart + 60_000 - now) / 1000)
  }

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
      const rows = await withContext(sql, acting(request), (tx) =>
        listWorkspaces(tx, request.user?.id as string, afterCursor(sql, cursor), limit)
      )
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
      checkDesign(design as Design, fastify.catalogue)
      const id = uuidv7()
      const row = await withContext(sql, acting(request), async (tx) => {
        await checkWorkspaceQuota(tx, request.user?.id as string, fastify.config.quotas)
        const created = await insertWorkspace(tx, request.audit(tx, { resourceId: id, statusCode: 201 }), {
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
    async (request) => toWorkspace(await workspaceAs(sql, acting(request), request.params.id))
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
            design: Type.Optional(DesignSchema),
            designChange: Type.Optional(DesignChangeSchema)
          },
          { additionalProperties: false, minProperties: 2 }
        ),
        response: {
          200: Workspace,
          409: VersionConflict,
          422: InvalidDesign,
          ...errorResponses(400, 401, 403, 404, 413, 415, 429)
        }
      }
    },
    async (request) => {
      const { version, name, description, design, designChange } = request.body
      if (design && designChange) throw new BadRequest('Send the design or a designChange, not both')
      if (design) checkDesign(design as Design, fastify.catalogue)
      const changes: Record<string, unknown> = {}
      if (name !== undefined) changes.name = name.trim()
      if (description !== undefined) changes.description = description
      if (design !== undefined) changes.design = design
      return withContext(sql, acting(request), async (tx) => {
        if (designChange) {
          // A change made against `version` (a page closing sends one): applied only to that version.
          const current = await ownedWorkspace(tx, request, request.params.id)
          if (current.version !== version) throw new VersionConflictError(current.version)
          changes.design = applyDesignChange(current.design as DesignDocument, designChange)
          checkDesign(changes.design as Design, fastify.catalogue)
        }
        // A new design stores more: refused once the user's storage is used up (a rename is not).
        if (changes.design !== undefined) await checkStorageQuota(tx, request.user?.id as string, fastify.config.quotas)
        const updated = await updateWorkspace(
          tx,
          request.audit(tx, { statusCode: 200 }),
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
      await withContext(sql, acting(request), async (tx) => {
        const deleted = await deleteWorkspace(
          tx,
          request.audit(tx, { statusCode: 204 }),
          request.params.id,
          request.user?.id as string
        )
        if (!deleted) throw new NotFound('Workspace')
      })
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/workspaces/:id/preview',
    {
      config: {
        auth: 'user',
        ownership: OWNERSHIP,
        unaudited: 'a preview changes nothing: it is rate-limited per user and counted (sdc_previews_total)'
      },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        description: `Quick feedback while editing, without a job: the analytic figures (${PREVIEW_SAMPLES} Monte-Carlo paths) of the given draft design and profile, or the stored ones, with what breaks first, availability and cost. A what-if names the components it left with nothing in \`down\`: the requests that meet them fail, and \`outage\` says which. At most ${PREVIEWS_PER_MINUTE} a minute per user; computed on the api's preview threads within a budget of engine work (PREVIEW_MAX_STEPS): a larger design answers 422 APP_ERR_PREVIEW_TOO_LARGE (simulate it instead), and 503 APP_ERR_PREVIEW_BUSY with Retry-After when every preview thread stays busy.`,
        body: Type.Object(
          {
            design: Type.Optional(DesignSchema),
            trafficProfile: Type.Optional(TrafficProfileSchema),
            down: Type.Optional(
              Type.Array(Type.String({ maxLength: LIMITS.idLength }), {
                maxItems: LIMITS.components,
                uniqueItems: true,
                description: 'components of the design a what-if left with nothing: the requests that meet them fail'
              })
            )
          },
          { additionalProperties: false }
        ),
        response: {
          200: Preview,
          422: Type.Union([InvalidDesign, ErrorResponse]),
          ...errorResponses(400, 401, 404, 413, 415, 429, 503)
        }
      }
    },
    async (request) => {
      const userId = request.user?.id as string
      spendPreview(userId)
      const { workspace, stored } = await withContext(sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, request.params.id)
        return { workspace, stored: request.body?.trafficProfile ? null : await trafficSnapshot(tx, workspace.id) }
      })
      const design = (request.body?.design ?? workspace.design) as Design
      const traffic: TrafficProfile = request.body?.trafficProfile ?? (stored as TrafficProfile)
      // The same bounds as a run, then the preview's own budget on its thread.
      checkDesign(design, fastify.catalogue)
      const down = request.body?.down ?? []
      const unknown = down.filter((id) => !design.components.some((c) => c.id === id))
      if (unknown.length > 0) throw new BadRequest(`down names no component of the design: ${unknown.join(', ')}`)
      return fastify.previews.run(design, traffic, down)
    }
  )

  fastify.get(
    '/workspaces/:id/versions',
    {
      config: { auth: 'user', ownership: OWNERSHIP },
      schema: {
        tags: ['workspaces'],
        params: IdParams,
        description:
          'The stored versions of the design and of the traffic profile, and nothing else: an open editor polls it to learn another tab or device saved meanwhile (one indexed row, a few bytes).',
        response: {
          200: Type.Object({ design: Type.Integer(), traffic: Type.Integer() }, { additionalProperties: false }),
          ...errorResponses(400, 401, 404, 429)
        }
      }
    },
    async (request, reply) => {
      const versions = await withContext(sql, acting(request), (tx) =>
        ownedVersions(tx, request.params.id, request.user?.id as string)
      )
      if (!versions) throw new NotFound('Workspace')
      reply.header('cache-control', 'no-store')
      return versions
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
      const row = await withContext(sql, acting(request), (tx) =>
        ownedTraffic(tx, request.params.id, request.user?.id as string)
      )
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
            latencySloMs: Type.Optional(TrafficProfileSchema.properties.latencySloMs),
            budgetPerMonth: TrafficProfileSchema.properties.budgetPerMonth,
            availabilityTarget: TrafficProfileSchema.properties.availabilityTarget,
            arrivalCv: TrafficProfileSchema.properties.arrivalCv
          },
          { additionalProperties: false, minProperties: 2 }
        ),
        description:
          'An exercise attempt’s fields are its requirements: changing one answers 422 APP_ERR_REQUIREMENT_LOCKED.',
        response: {
          200: TrafficProfileResponse,
          409: VersionConflict,
          ...errorResponses(400, 401, 404, 413, 415, 422, 429)
        }
      }
    },
    async (request) => {
      const { version, peakRps, readRatio, payloadKb, latencySloMs, budgetPerMonth, availabilityTarget, arrivalCv } =
        request.body
      const changes: Record<string, number | null> = {}
      if (peakRps !== undefined) changes.peak_rps = peakRps
      if (readRatio !== undefined) changes.read_ratio = readRatio
      if (payloadKb !== undefined) changes.payload_kb = payloadKb
      if (latencySloMs !== undefined) changes.latency_slo_ms = latencySloMs
      if (budgetPerMonth !== undefined) changes.budget_per_month = budgetPerMonth
      if (availabilityTarget !== undefined) changes.availability_target = availabilityTarget
      if (arrivalCv !== undefined) changes.arrival_cv = arrivalCv
      return withContext(sql, acting(request), async (tx) => {
        await refuseLockedChanges(tx, { id: request.params.id, ownerId: request.user?.id as string }, request.body)
        const updated = await updateTraffic(
          tx,
          request.audit(tx, { statusCode: 200 }),
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
