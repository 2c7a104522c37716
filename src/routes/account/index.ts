import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { hashPassword, hashToken, normalizeEmail, verifyPassword } from '../../accounts/accounts.ts'
import { forgetDevices } from '../../accounts/devices.ts'
import {
  accountByEmail,
  deleteAccount,
  markVerified,
  passwordHashOf,
  setPassword,
  spendEmailedLinks,
  useResetToken,
  userById
} from '../../accounts/users.ts'
import { withContext } from '../../db/context.ts'
import { InvalidResetToken, Unauthorized, WrongPassword } from '../../errors.ts'
import { enqueueJob } from '../../queue/enqueue.ts'
import { EmailJob } from '../../queue/messages.ts'
import { errorResponses } from '../../schemas.ts'
import { clearRefreshCookie } from '../auth/cookie.ts'
import { revokeAllOf } from '../auth/tokens.ts'
import { countedLimit } from '../limits.ts'
import { archiveChunks } from './archive.ts'
import { Accepted, AccountArchive, DeleteAccount, ResetConfirm, ResetRequest } from './schemas.ts'

/** Reset mails one address may be sent an hour, whoever asks (a 429 for a known and an unknown address alike). */
export const RESETS_PER_EMAIL_HOUR = 5
/** Data exports a user may download an hour. */
export const EXPORTS_PER_HOUR = 5
/** A large account's archive streams for longer than a request is otherwise given. */
const EXPORT_TIMEOUT_MS = 120_000
const HOUR_MS = 3_600_000

const accountRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { config, sql } = fastify
  // The auth routes' bucket: resetting and deleting spend the same per-client budget as logging in.
  const authBucket = { groupId: 'auth', max: config.authRateLimit.max, timeWindow: config.authRateLimit.windowMs }
  // Counters keyed by a hash, so a shared Redis never holds an address.
  const resetsPerEmail = countedLimit(fastify, {
    max: RESETS_PER_EMAIL_HOUR,
    timeWindow: HOUR_MS,
    keyGenerator: (request) => `reset-email:${hashToken(normalizeEmail((request.body as { email: string }).email))}`
  })
  const exportsPerUser = countedLimit(fastify, {
    max: EXPORTS_PER_HOUR,
    timeWindow: HOUR_MS,
    keyGenerator: (request) => `account-export:${request.user?.id}`
  })

  fastify.post(
    '/account/password-reset',
    {
      config: {
        auth: 'public',
        rateLimit: authBucket,
        audit: { action: 'account.password.reset.request', resourceType: 'user' }
      },
      // A preHandler: a refused reset request writes no audit row holding its body.
      preHandler: resetsPerEmail,
      schema: {
        tags: ['account'],
        description:
          'Mails a single-use link (30 minutes) to reset the password, if an enabled account has this email. The answer is the same either way.',
        body: ResetRequest,
        response: { 202: Accepted, ...errorResponses(400, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      await sql.begin(async (tx) => {
        const account = await accountByEmail(tx, normalizeEmail(request.body.email))
        const userId = account && !account.disabled ? account.id : null
        // A job either way, so a known and an unknown address cost the same statements; the
        // worker mails only an account, and makes the link there (its raw form is only in the mail).
        await enqueueJob(fastify.boss, tx, EmailJob, { kind: 'password-reset', userId }, request.id)
        request.enqueuedOn = 'email'
        // The row names the account, never the address typed.
        await request.audit(tx, { userId, resourceId: userId, statusCode: 202, changes: {} })
      })
      return reply.code(202).send({ status: 'accepted' as const })
    }
  )

  fastify.post(
    '/account/password-reset/confirm',
    {
      config: {
        auth: 'public',
        rateLimit: authBucket,
        audit: { action: 'account.password.reset', resourceType: 'user' }
      },
      schema: {
        tags: ['account'],
        description:
          'Sets a new password with the emailed token (single use; every other link is spent too). Every session and known browser of the account ends, and the email counts as confirmed.',
        body: ResetConfirm,
        response: { 204: Type.Null(), ...errorResponses(400, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      // Hashed first, whatever the token: a bad token costs the same as a good one.
      const passwordHash = await hashPassword(request.body.newPassword)
      const now = fastify.clock()
      const userId = await sql.begin(async (tx) => {
        const userId = await useResetToken(tx, hashToken(request.body.token), now)
        if (!userId) return null
        // Every session and every known browser ends: whoever knew the old password knows nothing now.
        const [, revoked] = await Promise.all([
          setPassword(tx, userId, passwordHash),
          revokeAllOf(tx, userId, now),
          spendEmailedLinks(tx, userId, now),
          forgetDevices(tx, userId, null),
          markVerified(tx, userId, now)
        ])
        await request.audit(tx, { userId, resourceId: userId, statusCode: 204, changes: { endedSessions: revoked } })
        return userId
      })
      if (!userId) throw new InvalidResetToken()
      fastify.tokens.forget(userId)
      reply.header('cache-control', 'no-store')
      return reply.code(204).send(null)
    }
  )

  fastify.get(
    '/account/export',
    {
      config: {
        auth: 'user',
        handlerTimeoutMs: EXPORT_TIMEOUT_MS,
        audit: { action: 'account.export', resourceType: 'user' }
      },
      preHandler: exportsPerUser,
      schema: {
        tags: ['account'],
        description: `The caller's data as one JSON file (an attachment): profile, workspaces with their traffic profiles, runs with their results and grades, and the reports made. Streamed a page at a time; ${EXPORTS_PER_HOUR} an hour.`,
        response: {
          200: {
            description: 'the archive, as an attachment',
            content: { 'application/json': { schema: AccountArchive } }
          },
          ...errorResponses(401, 429)
        }
      }
    },
    async (request, reply) => {
      const user = await userById(sql, request.user?.id as string)
      if (!user) throw new Unauthorized()
      const now = fastify.clock()
      // A page that fails after the headers went cuts the download short (Fastify logs it).
      const stream = Readable.from(archiveChunks(sql, user, now), { objectMode: false })
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="system-design-coach-${now.toISOString().slice(0, 10)}.json"`
        )
        .header('cache-control', 'no-store')
        .send(stream as never)
    }
  )

  fastify.delete(
    '/account',
    {
      config: { auth: 'user', rateLimit: authBucket, audit: { action: 'account.delete', resourceType: 'user' } },
      schema: {
        tags: ['account'],
        description:
          'Deletes the caller’s account after checking the password again: workspaces, runs, grades, exports, sessions and tokens go with it. Audit rows stay (they hold the account id, never its email).',
        body: DeleteAccount,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const userId = request.user?.id as string
      const current = await passwordHashOf(sql, userId)
      if (!current || !(await verifyPassword(current, request.body.password))) throw new WrongPassword()
      const removed = await withContext(sql, { userId }, async (tx) => {
        const removed = await deleteAccount(tx, userId)
        if (removed) await request.audit(tx, { resourceId: userId, statusCode: 204, changes: removed })
        return removed
      })
      if (!removed) throw new Unauthorized()
      fastify.tokens.forget(userId)
      // The browser's session cookies go too (their refresh family went with the account).
      clearRefreshCookie(reply)
      return reply.code(204).send(null)
    }
  )
}

export default accountRoutes
