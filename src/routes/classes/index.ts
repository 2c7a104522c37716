import { randomInt } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { hashToken, normalizeEmail } from '../../accounts/accounts.ts'
import { userNameJoin } from '../../accounts/users.ts'
import type { TransactionSql } from '../../db/client.ts'
import { setContext, withContext } from '../../db/context.ts'
import {
  ClassMemberSchema,
  ClassSchema,
  InvitationSchema,
  JoinCodeSchema,
  OrganisationSchema
} from '../../domain/classes.ts'
import { Forbidden, NotFound, QuotaReached } from '../../errors.ts'
import { uuidv7 } from '../../ids.ts'
import { enqueueJob } from '../../queue/enqueue.ts'
import { EmailJob } from '../../queue/messages.ts'
import { errorResponses, IdParams, Uuid } from '../../schemas.ts'
import { countedLimit } from '../limits.ts'
import {
  acceptInvitations,
  type ClassRow,
  classById,
  classOfCode,
  classSize,
  countClasses,
  insertClass,
  insertInvitation,
  insertJoinCode,
  insertOrganisation,
  invitationsToday,
  type JoinCodeRow,
  joinAsLearner,
  listClasses,
  listJoinCodes,
  listMembers,
  listOrganisations,
  manages,
  myInvitations,
  normalizeCode,
  organisationsCreatedBy,
  removeMember,
  revokeJoinCode
} from './store.ts'

/**
 * Who may call each class route, beyond being signed in: the one list the routes declare and the
 * authz tests walk. `member`: anyone in the class (or managing it); `instructor`: its instructors
 * and its organisation's owners (a learner of the class gets 403); anyone else gets 404 either way.
 */
export const CLASS_ROUTE_RULES = {
  'GET /classes/:id': 'member',
  'GET /classes/:id/members': 'instructor',
  'POST /classes/:id/members': 'instructor',
  'DELETE /classes/:id/members/:userId': 'member',
  'POST /classes/:id/join-codes': 'instructor',
  'GET /classes/:id/join-codes': 'instructor',
  'DELETE /classes/:id/join-codes/:codeId': 'instructor'
} as const
export type ClassRouteRule = (typeof CLASS_ROUTE_RULES)[keyof typeof CLASS_ROUTE_RULES]
const RULE_TEXT: Record<ClassRouteRule, string> = {
  member:
    'the class’s members and its organisation’s owners (row-level security); another organisation’s member or a learner of another class gets 404',
  instructor:
    'the class’s instructors and its organisation’s owners (row-level security); a learner of the class gets 403, anyone else 404'
}
const ruleOf = (route: keyof typeof CLASS_ROUTE_RULES) => RULE_TEXT[CLASS_ROUTE_RULES[route]]

/** Join codes: 10 characters of an alphabet without look-alikes (about 50 bits). */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
const CODE_LENGTH = 10
const newCode = () => Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('')
/** Join attempts (codes tried) a user may make an hour: a code cannot be guessed. */
const JOINS_PER_HOUR = 30
const INVITATION_DAYS = 14
const DAY_MS = 86_400_000

const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })
const Code = Type.String({ minLength: 4, maxLength: 40, description: 'a join code, as an instructor shows it' })
const MemberParams = Type.Object({ id: Uuid, userId: Uuid }, { additionalProperties: false })
const CodeParams = Type.Object({ id: Uuid, codeId: Uuid }, { additionalProperties: false })
const Membership = Type.Object({ class: ClassSchema, joined: Type.Boolean() }, { additionalProperties: false })

const toClass = (row: ClassRow) => ({
  id: row.id,
  organisationId: row.organisation_id,
  organisationName: row.organisation_name,
  name: row.name,
  role: row.class_role,
  manages: manages(row),
  createdAt: row.created_at.toISOString()
})
const toCode = (row: JoinCodeRow, code?: string) => ({
  id: row.id,
  ...(code ? { code } : {}),
  expiresAt: row.expires_at.toISOString(),
  revokedAt: row.revoked_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString()
})

const classRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { sql, config } = fastify
  const quotas = config.quotas
  const userOf = (request: FastifyRequest) => request.user?.id as string
  const asCaller = <T>(request: FastifyRequest, work: (tx: TransactionSql) => Promise<T>) =>
    withContext(sql, { userId: userOf(request) }, work)

  /**
   * The class as the caller sees it, the transaction then narrowed to its organisation: 404 when
   * the policies hide it, 403 when the route is for instructors and the caller only learns there.
   */
  async function classFor(tx: TransactionSql, request: FastifyRequest, id: string, rule: ClassRouteRule) {
    const row = await classById(tx, id)
    if (!row) throw new NotFound('Class')
    if (rule === 'instructor' && !manages(row)) throw new Forbidden('Only the class’s instructors may do this')
    await setContext(tx, { userId: userOf(request), organisationId: row.organisation_id })
    return row
  }

  const spendJoin = countedLimit(fastify, {
    max: JOINS_PER_HOUR,
    timeWindow: 3_600_000,
    keyGenerator: (request) => `class-join:${request.user?.id}`
  })

  fastify.post(
    '/orgs',
    {
      config: { auth: 'user', audit: { action: 'organisation.create', resourceType: 'organisation' } },
      schema: {
        tags: ['classes'],
        description: `Creates an organisation; the caller is its owner (at most QUOTA_ORGANISATIONS_PER_USER, ${quotas.organisationsPerUser}).`,
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 201: OrganisationSchema, ...errorResponses(400, 401, 403, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const id = uuidv7()
      const row = await asCaller(request, async (tx) => {
        const [{ count }] = await organisationsCreatedBy(tx, userOf(request))
        if (count >= quotas.organisationsPerUser)
          throw new QuotaReached(`At most ${quotas.organisationsPerUser} organisations a user`)
        await setContext(tx, { userId: userOf(request), organisationId: id })
        return insertOrganisation(tx, request.audit(tx, { resourceId: id, statusCode: 201, organisationId: id }), {
          id,
          name: request.body.name.trim(),
          ownerId: userOf(request)
        })
      })
      return reply
        .code(201)
        .send({ id: row.id, name: row.name, role: row.role, createdAt: row.created_at.toISOString() })
    }
  )

  fastify.get(
    '/orgs',
    {
      config: { auth: 'user', ownership: 'lists only the organisations the caller belongs to (row-level security)' },
      schema: {
        tags: ['classes'],
        response: { 200: Type.Object({ items: Type.Array(OrganisationSchema) }), ...errorResponses(401, 429) }
      }
    },
    async (request) => {
      const rows = await asCaller(request, (tx) => listOrganisations(tx))
      return {
        items: rows.map((r) => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at.toISOString() }))
      }
    }
  )

  fastify.post(
    '/classes',
    {
      config: {
        auth: 'user',
        ownership: 'the organisation’s owners and instructors (row-level security); anyone else 404',
        audit: { action: 'class.create', resourceType: 'class' }
      },
      schema: {
        tags: ['classes'],
        description: `Creates a class in an organisation the caller owns or instructs in; the caller is its instructor (at most QUOTA_CLASSES_PER_ORGANISATION, ${quotas.classesPerOrganisation}, an organisation).`,
        body: Type.Object({ organisationId: Uuid, name: Name }, { additionalProperties: false }),
        response: { 201: ClassSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const { organisationId, name } = request.body
      const id = uuidv7()
      const row = await asCaller(request, async (tx) => {
        await setContext(tx, { userId: userOf(request), organisationId })
        const [org] = await tx<{ role: string | null }[]>`
          select app.organisation_role(id) as role from app.organisations where id = ${organisationId}
        `
        if (!org?.role) throw new NotFound('Organisation')
        const [{ count }] = await countClasses(tx, organisationId)
        if (count >= quotas.classesPerOrganisation)
          throw new QuotaReached(`At most ${quotas.classesPerOrganisation} classes an organisation`)
        await insertClass(tx, request.audit(tx, { resourceId: id, statusCode: 201, organisationId }), {
          id,
          organisationId,
          name: name.trim(),
          userId: userOf(request)
        })
        return classById(tx, id)
      })
      return reply.code(201).send(toClass(row as ClassRow))
    }
  )

  fastify.get(
    '/classes',
    {
      config: { auth: 'user', ownership: 'lists only the classes the caller is in or manages (row-level security)' },
      schema: {
        tags: ['classes'],
        response: {
          200: Type.Object({ items: Type.Array(ClassSchema), invitations: Type.Array(InvitationSchema) }),
          ...errorResponses(401, 429)
        }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => {
        const [classes, invitations] = [await listClasses(tx), await myInvitations(tx)]
        return {
          items: classes.map(toClass),
          invitations: invitations.map((i) => ({
            id: i.id,
            classId: i.class_id,
            email: i.email_normalized,
            role: i.role,
            expiresAt: i.expires_at.toISOString()
          }))
        }
      })
  )

  fastify.get(
    '/classes/:id',
    {
      config: { auth: 'user', ownership: ruleOf('GET /classes/:id') },
      schema: {
        tags: ['classes'],
        params: IdParams,
        response: { 200: ClassSchema, ...errorResponses(400, 401, 404, 429) }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => toClass(await classFor(tx, request, request.params.id, 'member')))
  )

  fastify.get(
    '/classes/:id/members',
    {
      config: { auth: 'user', ownership: ruleOf('GET /classes/:id/members') },
      schema: {
        tags: ['classes'],
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(ClassMemberSchema), limit: Type.Integer() }),
          ...errorResponses(400, 401, 403, 404, 429)
        }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => {
        const c = await classFor(tx, request, request.params.id, 'instructor')
        const rows = await listMembers(tx, c.organisation_id, c.id)
        return {
          items: rows.map((m) => ({
            userId: m.user_id,
            displayName: m.display_name,
            email: m.email,
            role: m.role,
            joinedAt: m.created_at.toISOString()
          })),
          limit: quotas.membersPerClass
        }
      })
  )

  fastify.post(
    '/classes/:id/members',
    {
      config: {
        auth: 'user',
        ownership: ruleOf('POST /classes/:id/members'),
        audit: { action: 'class.invite', resourceType: 'class' }
      },
      schema: {
        tags: ['classes'],
        description: `Invites an email to the class as a learner: once signed in with that address, its owner joins without a code (14 days). At most QUOTA_INVITATIONS_PER_DAY (${quotas.invitationsPerDay}) an organisation a day.`,
        params: IdParams,
        body: Type.Object(
          { email: Type.String({ format: 'email', minLength: 3, maxLength: 254 }) },
          { additionalProperties: false }
        ),
        response: { 202: InvitationSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const id = uuidv7()
      const invitation = await asCaller(request, async (tx) => {
        const c = await classFor(tx, request, request.params.id, 'instructor')
        const [{ count }] = await invitationsToday(tx, c.organisation_id)
        if (count >= quotas.invitationsPerDay)
          throw new QuotaReached(`At most ${quotas.invitationsPerDay} invitations an organisation a day`)
        const row = await insertInvitation(
          tx,
          request.audit(tx, { statusCode: 202, organisationId: c.organisation_id, changes: { invitationId: id } }),
          {
            id,
            organisationId: c.organisation_id,
            classId: c.id,
            email: normalizeEmail(request.body.email),
            expiresAt: new Date(Date.now() + INVITATION_DAYS * DAY_MS),
            userId: userOf(request)
          }
        )
        // The mail, in the same transaction as its row: both are written, or neither.
        await enqueueJob(
          fastify.boss,
          tx,
          EmailJob,
          { kind: 'class-invitation', invitationId: id, ownerId: userOf(request), organisationId: c.organisation_id },
          request.id
        )
        request.enqueuedOn = 'email'
        return row
      })
      return reply.code(202).send({
        id: invitation.id,
        classId: invitation.class_id,
        email: invitation.email_normalized,
        role: invitation.role,
        expiresAt: invitation.expires_at.toISOString()
      })
    }
  )

  fastify.delete(
    '/classes/:id/members/:userId',
    {
      config: {
        auth: 'user',
        ownership: `${ruleOf('DELETE /classes/:id/members/:userId')}; a learner removes only themselves (leaves)`,
        audit: { action: 'class.member.remove', resourceType: 'class' }
      },
      schema: {
        tags: ['classes'],
        params: MemberParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request, reply) => {
      const { id, userId } = request.params
      await asCaller(request, async (tx) => {
        const c = await classFor(tx, request, id, 'member')
        if (!manages(c) && userId !== userOf(request)) throw new Forbidden('A learner may only leave the class')
        const removed = await removeMember(
          tx,
          request.audit(tx, { statusCode: 204, organisationId: c.organisation_id, changes: { userId } }),
          c.organisation_id,
          c.id,
          userId
        )
        if (removed.length === 0) throw new NotFound('Member')
      })
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/classes/:id/join-codes',
    {
      config: {
        auth: 'user',
        ownership: ruleOf('POST /classes/:id/join-codes'),
        audit: { action: 'class.join_code.create', resourceType: 'class' }
      },
      schema: {
        tags: ['classes'],
        description:
          'A join code for the class, shown this once (only its hash is kept); it works until it expires or is revoked.',
        params: IdParams,
        body: Type.Object(
          { expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 90, default: 24 * 7 })) },
          { additionalProperties: false }
        ),
        response: { 201: JoinCodeSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const code = newCode()
      const hours = request.body.expiresInHours ?? 24 * 7
      const id = uuidv7()
      const row = await asCaller(request, async (tx) => {
        const c = await classFor(tx, request, request.params.id, 'instructor')
        // The audit row names the code's id, never the code.
        return insertJoinCode(
          tx,
          request.audit(tx, {
            statusCode: 201,
            organisationId: c.organisation_id,
            changes: { joinCodeId: id, hours }
          }),
          {
            id,
            organisationId: c.organisation_id,
            classId: c.id,
            codeHash: hashToken(code),
            expiresAt: new Date(Date.now() + hours * 3_600_000),
            userId: userOf(request)
          }
        )
      })
      return reply.code(201).send(toCode(row, code))
    }
  )

  fastify.get(
    '/classes/:id/join-codes',
    {
      config: { auth: 'user', ownership: ruleOf('GET /classes/:id/join-codes') },
      schema: {
        tags: ['classes'],
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(JoinCodeSchema) }),
          ...errorResponses(400, 401, 403, 404, 429)
        }
      }
    },
    async (request) =>
      asCaller(request, async (tx) => {
        const c = await classFor(tx, request, request.params.id, 'instructor')
        return { items: (await listJoinCodes(tx, c.organisation_id, c.id)).map((r) => toCode(r)) }
      })
  )

  fastify.delete(
    '/classes/:id/join-codes/:codeId',
    {
      config: {
        auth: 'user',
        ownership: ruleOf('DELETE /classes/:id/join-codes/:codeId'),
        audit: { action: 'class.join_code.revoke', resourceType: 'class' }
      },
      schema: {
        tags: ['classes'],
        description: 'Revokes a join code: it admits nobody from now on (members who joined with it stay).',
        params: CodeParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request, reply) => {
      const { id, codeId } = request.params
      await asCaller(request, async (tx) => {
        const c = await classFor(tx, request, id, 'instructor')
        const audit = request.audit(tx, { statusCode: 204, organisationId: c.organisation_id, changes: { codeId } })
        const rows = await revokeJoinCode(tx, audit, c.organisation_id, c.id, codeId)
        if (rows.length === 0) throw new NotFound('Join code')
      })
      return reply.code(204).send(null)
    }
  )

  /** The organisation when the caller owns it: 404 when the policies hide it, 403 for its other members. */
  async function ownedOrganisation(tx: TransactionSql, request: FastifyRequest, id: string) {
    await setContext(tx, { userId: userOf(request), organisationId: id })
    const [org] = await tx<{ id: string; name: string; role: string | null; created_at: Date }[]>`
      select id, name, app.organisation_role(id) as role, created_at from app.organisations where id = ${id}
    `
    if (!org) throw new NotFound('Organisation')
    if (org.role !== 'owner') throw new Forbidden('Only the organisation’s owners may do this')
    return org
  }

  fastify.get(
    '/orgs/:id/export',
    {
      config: {
        auth: 'user',
        ownership: 'the organisation’s owners (row-level security); its other members 403, anyone else 404',
        audit: { action: 'organisation.export', resourceType: 'organisation' }
      },
      schema: {
        tags: ['classes'],
        description:
          'Everything the organisation holds: its members, classes, class members, assignments and attempts (ids and dates), as JSON.',
        params: IdParams,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request, reply) => {
      const archive = await asCaller(request, async (tx) => {
        const org = await ownedOrganisation(tx, request, request.params.id)
        const where = tx`where organisation_id = ${org.id}`
        return {
          organisation: { id: org.id, name: org.name, createdAt: org.created_at.toISOString() },
          members: await tx`select user_id, role, created_at from app.organisation_members ${where}`,
          classes: await tx`select id, name, created_at from app.classes ${where}`,
          classMembers: await tx`
            select m.class_id, m.user_id, u.display_name, u.email, m.role, m.created_at
            from app.class_members m ${userNameJoin(tx, 'm.user_id')}
            where m.organisation_id = ${org.id}
          `,
          assignments: await tx`
            select id, class_id, exercise_slug, title, opens_at, due_at, hints_allowed, scale::float8 as scale, requirements
            from app.assignments ${where}
          `,
          attempts:
            await tx`select assignment_id, user_id, workspace_id, started_at from app.assignment_attempts ${where}`,
          invitations:
            await tx`select id, class_id, email_normalized as email, expires_at, accepted_at, revoked_at from app.class_invitations ${where}`
        }
      })
      reply.header('cache-control', 'no-store')
      reply.header('content-disposition', `attachment; filename="organisation-${request.params.id}.json"`)
      return archive
    }
  )

  fastify.delete(
    '/orgs/:id',
    {
      config: {
        auth: 'user',
        ownership: 'the organisation’s owners (row-level security); its other members 403, anyone else 404',
        audit: { action: 'organisation.delete', resourceType: 'organisation' }
      },
      schema: {
        tags: ['classes'],
        description:
          'Deletes the organisation, its classes, memberships, codes, invitations, assignments and the links to attempts (the learners keep their workspaces). Its audit rows stay: ids, no personal data.',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 429) }
      }
    },
    async (request, reply) => {
      await asCaller(request, async (tx) => {
        const org = await ownedOrganisation(tx, request, request.params.id)
        await tx`
          with audit_row as (${request.audit(tx, { statusCode: 204, organisationId: org.id, changes: {} })})
          delete from app.organisations where id = ${org.id}
        `
      })
      return reply.code(204).send(null)
    }
  )

  /**
   * Joins the caller as a learner with a code (or an open invitation to their email): the policy on
   * class_members admits the row only then. An unknown, expired or revoked code is a 404.
   */
  async function join(request: FastifyRequest, classId: string | null, code: string | undefined) {
    const userId = userOf(request)
    const joinCode = code ? normalizeCode(code) : null
    const members = quotas.membersPerClass
    return withContext(sql, { userId, joinCode }, async (tx) => {
      let target = classId
      if (!target) {
        const found = joinCode ? await classOfCode(tx, joinCode) : undefined
        if (!found) throw new NotFound('Join code')
        target = found.class_id
      }
      const visible = await classById(tx, target)
      const [joinable] = visible
        ? [{ organisation_id: visible.organisation_id }]
        : await tx<{ organisation_id: string | null }[]>`select app.joinable_class(${target}) as organisation_id`
      const organisationId = joinable?.organisation_id
      if (!organisationId) throw new NotFound('Class')
      await setContext(tx, { userId, organisationId, joinCode })
      if (visible && (visible.class_role || manages(visible))) {
        await request.audit(tx, { resourceId: target, statusCode: 200, organisationId, changes: { joined: false } })
        return { class: toClass(visible), joined: false }
      }
      // app.joinable_class asked the policy's question already for a class the caller cannot see.
      if (visible && (await tx`select 1 where app.may_join(${organisationId}, ${target})`).length === 0)
        throw new NotFound('Class')
      const [{ count }] = await classSize(tx, organisationId, target)
      if (count >= members) throw new QuotaReached(`The class is full (${members} members)`)
      await joinAsLearner(tx, request.audit(tx, { resourceId: target, statusCode: 200, organisationId }), {
        organisationId,
        classId: target,
        userId
      })
      await acceptInvitations(tx, organisationId, target)
      return { class: toClass((await classById(tx, target)) as ClassRow), joined: true }
    })
  }

  fastify.post(
    '/classes/:id/join',
    {
      config: {
        auth: 'user',
        audit: { action: 'class.join', resourceType: 'class' },
        ownership:
          'anyone signed in with a valid join code of the class, or an open invitation to their email; else 404'
      },
      preHandler: spendJoin,
      schema: {
        tags: ['classes'],
        description: `Joins the class as a learner (at most QUOTA_MEMBERS_PER_CLASS, ${quotas.membersPerClass}, members); ${JOINS_PER_HOUR} attempts an hour a user.`,
        params: IdParams,
        body: Type.Object({ code: Type.Optional(Code) }, { additionalProperties: false }),
        response: { 200: Membership, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request) => join(request, request.params.id, request.body.code)
  )

  fastify.post(
    '/classes/join',
    {
      config: { auth: 'user', audit: { action: 'class.join', resourceType: 'class' } },
      preHandler: spendJoin,
      schema: {
        tags: ['classes'],
        description: 'Joins the class a join code names, as a learner.',
        body: Type.Object({ code: Code }, { additionalProperties: false }),
        response: { 200: Membership, ...errorResponses(400, 401, 403, 404, 413, 415, 429) }
      }
    },
    async (request) => join(request, null, request.body.code)
  )
}

export default classRoutes
