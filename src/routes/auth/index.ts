import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { hashPassword, hashToken, normalizeEmail, verifyPassword } from '../../accounts/accounts.ts'
import { forgetDevices, knownDevice, recordDeviceFailure, rememberDevice } from '../../accounts/devices.ts'
import { clearFailures, loginGate, loginHasher, recordFailure } from '../../accounts/lockout.ts'
import {
  accountByEmail,
  activeUser,
  endAccessTokens,
  insertUser,
  markVerified,
  passwordHashOf,
  setPassword,
  unverifiedUser,
  useLoginLinkToken,
  userById,
  userForLogin,
  useVerificationToken
} from '../../accounts/users.ts'
import { clientKey } from '../../client-address.ts'
import type { TransactionSql } from '../../db/client.ts'
import {
  AccountDisabled,
  AccountLocked,
  BadRequest,
  EmailNotVerified,
  EmailTaken,
  InvalidCredentials,
  InvalidLoginLink,
  InvalidVerificationToken,
  LoginChallenge,
  Unauthorized,
  WrongPassword
} from '../../errors.ts'
import { enqueueJob } from '../../queue/enqueue.ts'
import { EmailJob } from '../../queue/messages.ts'
import { errorResponses } from '../../schemas.ts'
import { classOfJoinCode, joinOnSignup } from '../classes/store.ts'
import { countedLimit } from '../limits.ts'
import { clearRefreshCookie, refreshTokenFrom, setRefreshCookie, wantsCookie } from './cookie.ts'
import { type DeviceClaim, deviceCookies } from './device.ts'
import { Email, Password, TokenPair, toUser, User, type UserRow } from './schemas.ts'
import { insertRefreshToken, refreshTokenByHash, revokeAllOf, revokeFamily, useRefreshToken } from './tokens.ts'

const AUTH_GROUP = 'auth'
/** One sign-in link mail per account per this many seconds at most, whatever the number of challenges. */
const LOGIN_LINK_MAIL_SECONDS = 300
/** Sign-up with email verification required: the same body for a new and a taken email. */
const SignUpAccepted = Type.Object({ status: Type.Literal('accepted') }, { additionalProperties: false })
const RefreshBody = Type.Object(
  {
    refreshToken: Type.Optional(
      Type.String({
        minLength: 20,
        maxLength: 2048,
        description: 'required unless the refresh cookie is sent with `X-Refresh-Cookie: 1`'
      })
    )
  },
  { additionalProperties: false }
)
const CookieHeaders = Type.Object({
  'x-refresh-cookie': Type.Optional(
    Type.Literal('1', {
      description:
        'the browser mode: the refresh token travels in an HttpOnly, Secure, SameSite=Strict cookie scoped to /auth, not in the JSON'
    })
  )
})

/** No token in the body: the API client's 400; in cookie mode, no cookie is no session (401). */
const missingToken = (request: FastifyRequest) =>
  wantsCookie(request)
    ? new Unauthorized()
    : new BadRequest("body must have required property 'refreshToken' (or send the cookie with X-Refresh-Cookie: 1)")

const authRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { config } = fastify
  const devices = deviceCookies([config.jwt.secret, ...config.jwt.previousSecrets])
  const hashLogin = loginHasher(config.jwt.secret)
  // One bucket for every /auth/* route: the budget is per client, not per endpoint. A client is
  // its address (IPv4, or IPv6 /64), except a known device, which has a bucket of its own: a class
  // behind one school address signs in without spending the budget meant for strangers there.
  const limit = { groupId: AUTH_GROUP, max: config.authRateLimit.max, timeWindow: config.authRateLimit.windowMs }
  const addressOrDevice = (request: FastifyRequest, device: DeviceClaim | null) =>
    device ? `device:${device.deviceHash}` : clientKey(request.ip)
  // Routes that need a session token anyway: any validly signed device cookie has its own bucket.
  const sessionLimit = {
    ...limit,
    keyGenerator: (request: FastifyRequest) => addressOrDevice(request, devices.read(request))
  }
  // A login only when the device signed in to the account it names (after the body is parsed): a
  // cookie minted for one's own account buys no attempts at anyone else's.
  const loginLimit = {
    ...limit,
    hook: 'preHandler' as const,
    keyGenerator: async (request: FastifyRequest) =>
      addressOrDevice(request, await loginDevice(request, normalizeEmail((request.body as { email: string }).email)))
  }

  /** The device a login comes from if it is known for the email (looked up once per request). */
  const loginDevices = new WeakMap<FastifyRequest, Promise<DeviceClaim | null>>()
  function loginDevice(request: FastifyRequest, email: string): Promise<DeviceClaim | null> {
    let found = loginDevices.get(request)
    if (!found) {
      const claim = devices.read(request)
      found = claim ? knownDevice(fastify.sql, email, claim, fastify.clock()) : Promise.resolve(null)
      loginDevices.set(request, found)
    }
    return found
  }

  function noStore(reply: FastifyReply) {
    reply.header('cache-control', 'no-store')
    reply.header('pragma', 'no-cache')
  }

  /** Issues an access token and a refresh token of `familyId` (a new family at login). */
  async function issuePair(tx: TransactionSql, user: UserRow, familyId: string, familyExpiresAt: Date) {
    const refreshToken = randomBytes(32).toString('base64url')
    await insertRefreshToken(tx, {
      userId: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      familyExpiresAt,
      createdAt: fastify.clock()
    })
    return {
      accessToken: fastify.tokens.signAccess({
        id: user.id,
        role: user.role,
        tokenVersion: user.token_version ?? 0,
        sessionId: familyId
      }),
      refreshToken,
      tokenType: 'Bearer' as const,
      expiresIn: fastify.tokens.accessTtlSeconds,
      refreshExpiresAt: familyExpiresAt.toISOString(),
      user: toUser(user)
    }
  }

  /**
   * Queues a one-time sign-in link for a challenged login with the right password; one mail per
   * account per LOGIN_LINK_MAIL_SECONDS at most (a singleton job), so it cannot flood a mailbox.
   */
  function sendLoginLink(userId: string, request: FastifyRequest) {
    return fastify.sql.begin((tx) =>
      enqueueJob(fastify.boss, tx, EmailJob, { kind: 'login-link', userId }, request.id, {
        singletonKey: `login-link:${userId}`,
        singletonSeconds: LOGIN_LINK_MAIL_SECONDS
      })
    )
  }

  /** Queues the verification email; one per user per minute at most (a singleton job). */
  function sendVerification(tx: TransactionSql, userId: string, requestId: string) {
    return enqueueJob(fastify.boss, tx, EmailJob, { kind: 'verify', userId }, requestId, {
      singletonKey: `verify:${userId}`,
      singletonSeconds: 60
    })
  }

  // Sign-ups one client address may attempt a day (QUOTA_SIGNUPS_PER_CLIENT_PER_DAY), beside the
  // per-client request budget: an address cannot mint accounts (and their quotas) without end. A
  // sign-up carrying a valid class join code spends the code's class's budget instead (as many as
  // the class holds, a minute and a day), not the address's: a class of 40 behind one school
  // address joins at the start of a lesson (issue 32). An invalid code counts as no code.
  const signupClasses = new WeakMap<FastifyRequest, Promise<string | null>>()
  function signupClass(request: FastifyRequest): Promise<string | null> {
    let found = signupClasses.get(request)
    if (!found) {
      // Read before validation (the bucket counts malformed bodies too): only a plausible code is looked up.
      const code = (request.body as { joinCode?: unknown } | null | undefined)?.joinCode
      found =
        typeof code === 'string' && code.length >= 4 && code.length <= 40
          ? classOfJoinCode(fastify.sql, code).then(
              (c) => c?.class_id ?? null,
              () => null
            )
          : Promise.resolve(null)
      signupClasses.set(request, found)
    }
    return found
  }
  const signupBudget = async (request: FastifyRequest, prefix: string) => {
    const classId = await signupClass(request)
    return classId ? `${prefix}class:${classId}` : `${prefix}${clientKey(request.ip)}`
  }
  const perClass = (fallback: number) => async (_request: FastifyRequest, key: string) =>
    key.includes('class:') ? config.quotas.membersPerClass : fallback
  const signupLimit = {
    ...limit,
    hook: 'preValidation' as const,
    keyGenerator: (request: FastifyRequest) => signupBudget(request, ''),
    max: perClass(limit.max)
  }
  const spendSignup = countedLimit(fastify, {
    max: perClass(config.quotas.signupsPerClientPerDay),
    timeWindow: 86_400_000,
    keyGenerator: (request) => signupBudget(request, 'signup:')
  })

  fastify.post(
    '/auth/register',
    {
      config: { auth: 'public', rateLimit: signupLimit, audit: { action: 'auth.register', resourceType: 'user' } },
      preHandler: spendSignup,
      schema: {
        tags: ['auth'],
        description:
          'With email verification required (production’s default), 202 for a new and a taken email alike: the address’s owner learns the rest by mail. Without it, 201 with the user, or 409 for a taken email.',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            displayName: Type.String({ title: 'Your name', minLength: 1, maxLength: 80, pattern: '\\S' }),
            joinCode: Type.Optional(
              Type.String({
                minLength: 4,
                maxLength: 40,
                description:
                  'a class join code: the new account joins the class, and the sign-up spends the class’s budget, not the address’s'
              })
            )
          },
          { additionalProperties: false }
        ),
        response: { 201: User, 202: SignUpAccepted, ...errorResponses(400, 409, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const { email, password, displayName, joinCode } = request.body
      const verifying = config.emailVerificationRequired
      const passwordHash = await hashPassword(password)
      const user = await fastify.sql.begin(async (tx) => {
        const row = await insertUser(tx, { email, displayName: displayName.trim(), passwordHash })
        // The row keeps the account's id, not the address or name typed (issue 32).
        const statusCode = verifying ? 202 : 201
        if (row) {
          await Promise.all([
            request.audit(tx, { resourceId: row.id, userId: row.id, statusCode, changes: {} }),
            verifying ? sendVerification(tx, row.id, request.id) : null
          ])
          if (joinCode && (await signupClass(request))) {
            await joinOnSignup(tx, row.id, joinCode, config.quotas.membersPerClass)
            // Without verification (where sign-up already tells a taken email) the browser that signed
            // up is a known device: its first login spends its own budget, not the school address's.
            if (!verifying) {
              const device = devices.issue(request, row.id)
              await rememberDevice(tx, device.claim, fastify.clock())
              reply.header('set-cookie', device.setCookie)
            }
          }
          return row
        }
        if (!verifying) return null
        // Taken: the same answer as a new account; the owner is told by mail (one an hour at most).
        const owner = await accountByEmail(tx, normalizeEmail(email))
        if (owner) {
          await Promise.all([
            request.audit(tx, {
              action: 'auth.register.taken',
              resourceId: owner.id,
              userId: owner.id,
              statusCode,
              changes: {}
            }),
            enqueueJob(fastify.boss, tx, EmailJob, { kind: 'signup-taken', userId: owner.id }, request.id, {
              singletonKey: `signup-taken:${owner.id}`,
              singletonSeconds: 3600
            })
          ])
        }
        return null
      })
      if (verifying) return reply.code(202).send({ status: 'accepted' as const })
      if (!user) throw new EmailTaken()
      return reply.code(201).send(toUser(user))
    }
  )

  type LoginUser = NonNullable<Awaited<ReturnType<typeof userForLogin>>>

  /**
   * Signs the user in (a login or a sign-in link): a new token family, the device remembered and
   * its cookie set, the client's failures for the email cleared.
   */
  async function signIn(request: FastifyRequest, reply: FastifyReply, user: LoginUser, via: string, now: Date) {
    // Only someone who knows the password (or holds the link) learns that the account is disabled or unverified.
    if (user.disabled_at) throw new AccountDisabled()
    if (config.emailVerificationRequired && !user.email_verified_at) throw new EmailNotVerified()
    const familyExpiresAt = new Date(now.getTime() + config.jwt.refreshTtlSeconds * 1000)
    const device = devices.issue(request, user.id)
    const loginHash = hashLogin(normalizeEmail(user.email))
    const pair = await fastify.sql.begin(async (tx) => {
      await Promise.all([
        clearFailures(tx, normalizeEmail(user.email), clientKey(request.ip)),
        rememberDevice(tx, device.claim, now)
      ])
      const issued = await issuePair(tx, user, randomUUID(), familyExpiresAt)
      await request.audit(tx, { userId: user.id, resourceId: user.id, statusCode: 200, changes: { loginHash, via } })
      return issued
    })
    request.userId = user.id
    reply.header('set-cookie', device.setCookie)
    return wantsCookie(request) ? setRefreshCookie(reply, pair, now) : pair
  }

  /** Audits the lock a failed login just started: always a row of its own (failed logins are budgeted). */
  async function lockoutEvent(
    request: FastifyRequest,
    failure: { failures: number; lockedUntil: Date | null; justLocked: boolean },
    entry: { resourceType: string; resourceId: string; userId: string | null; changes: Record<string, unknown> }
  ) {
    if (!failure.justLocked) return
    await request.audit(fastify.sql, {
      action: 'auth.lockout',
      ...entry,
      statusCode: 401,
      outcome: 'denied',
      changes: { ...entry.changes, failures: failure.failures, lockedUntil: failure.lockedUntil?.toISOString() }
    })
    fastify.securityCounters.lockouts++
  }

  fastify.post(
    '/auth/login',
    {
      config: { auth: 'public', rateLimit: loginLimit, audit: { action: 'auth.login', resourceType: 'session' } },
      schema: {
        tags: ['auth'],
        description:
          'A known device (its `__Host-sdc_device` cookie) has a failure budget of its own; an unknown client is locked out ' +
          'of the email after its own failures (423), and once the account has many failures from everywhere it is answered ' +
          '401 `APP_ERR_LOGIN_CHALLENGE` whatever the password, the right one emailing a one-time sign-in link.',
        body: Type.Object(
          { email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) },
          { additionalProperties: false }
        ),
        headers: CookieHeaders,
        response: { 200: TokenPair, ...errorResponses(400, 401, 403, 413, 415, 423, 429) }
      }
    },
    async (request, reply) => {
      noStore(reply)
      const { password } = request.body
      const email = normalizeEmail(request.body.email)
      const loginHash = hashLogin(email)
      const found = loginDevice(request, email)
      // A refused login's audit row is written after the response, from the body: it keeps only this.
      ;(request as { body: unknown }).body = { loginHash }
      const now = fastify.clock()
      const [user, device] = await Promise.all([userForLogin(fastify.sql, { email }), found])

      if (user && device) {
        // A known device: its own budget, never the account's or its address's.
        if (await verifyPassword(user.password_hash, password)) return signIn(request, reply, user, 'device', now)
        const failure = await recordDeviceFailure(fastify.sql, device, now, config.login)
        await lockoutEvent(request, failure, {
          resourceType: 'device',
          resourceId: user.id,
          userId: user.id,
          changes: { loginHash }
        })
        throw new InvalidCredentials()
      }

      // An unknown client: its own lock for this email, then the account-wide challenge.
      const client = clientKey(request.ip)
      const gate = await loginGate(fastify.sql, email, client, now, config.login)
      if (gate.lockedUntil) throw AccountLocked(gate.lockedUntil, now)
      // An unknown email costs the same argon2 verification as a wrong password.
      const valid = await verifyPassword(user?.password_hash ?? null, password)
      if (!valid || !user) {
        const failure = await recordFailure(fastify.sql, email, client, now, config.login)
        await lockoutEvent(request, failure, {
          resourceType: 'account',
          resourceId: loginHash,
          userId: user?.id ?? null,
          changes: { client, loginHash }
        })
        // Past the ceiling a wrong password gets the right one's answer: the challenge reveals nothing.
        throw gate.challenged ? new LoginChallenge() : new InvalidCredentials()
      }
      if (gate.challenged) {
        // Not awaited: the answer takes as long as a wrong password's (one statement, not a job's few).
        if (!user.disabled_at) {
          sendLoginLink(user.id, request).catch((err: Error) => request.log.error({ err }, 'sign-in link not queued'))
        }
        throw new LoginChallenge()
      }
      return signIn(request, reply, user, 'password', now)
    }
  )

  fastify.post(
    '/auth/login-link',
    {
      config: { auth: 'public', rateLimit: limit, audit: { action: 'auth.login.link', resourceType: 'session' } },
      schema: {
        tags: ['auth'],
        description:
          'Signs in with the one-time link a challenged login emailed (single use, 15 minutes); the device is then known.',
        body: Type.Object({ token: Type.String({ minLength: 20, maxLength: 200 }) }, { additionalProperties: false }),
        headers: CookieHeaders,
        response: { 200: TokenPair, ...errorResponses(400, 403, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      noStore(reply)
      const now = fastify.clock()
      const user = await fastify.sql.begin(async (tx) => {
        // An unknown, used or expired token all fail the same way.
        const userId = await useLoginLinkToken(tx, hashToken(request.body.token), now)
        // Opening the link proves the mailbox, as the verification link does.
        if (userId) await markVerified(tx, userId, now)
        return userId
      })
      const account = user ? await userForLogin(fastify.sql, { id: user }) : undefined
      if (!account) throw new InvalidLoginLink()
      return signIn(request, reply, account, 'link', now)
    }
  )

  fastify.post(
    '/auth/refresh',
    {
      config: { auth: 'public', rateLimit: sessionLimit, audit: { action: 'auth.refresh', resourceType: 'session' } },
      schema: {
        tags: ['auth'],
        body: RefreshBody,
        headers: CookieHeaders,
        response: { 200: TokenPair, ...errorResponses(400, 401, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      noStore(reply)
      const presented = refreshTokenFrom(request, reply)
      if (!presented) throw missingToken(request)
      const tokenHash = hashToken(presented)
      const now = fastify.clock()
      const result = await fastify.sql.begin(async (tx) => {
        // Single use, atomically: of N concurrent refreshes of one token exactly one gets the row.
        const used = await useRefreshToken(tx, tokenHash, now)
        if (used) {
          const user = await activeUser(tx, used.user_id)
          if (!user) return null
          const pair = await issuePair(tx, user, used.family_id, used.family_expires_at)
          await request.audit(tx, { userId: user.id, resourceId: used.family_id, statusCode: 200 })
          return pair
        }
        const known = await refreshTokenByHash(tx, tokenHash)
        if (known?.used_at) {
          // A rotated token came back: someone holds a copy. Revoke the whole family.
          const revoked = await revokeFamily(tx, known.family_id, now)
          await request.audit(tx, {
            action: 'auth.refresh.reuse',
            resourceType: 'token_family',
            resourceId: known.family_id,
            userId: known.user_id,
            statusCode: 401,
            outcome: 'denied',
            changes: { revokedInFamily: revoked }
          })
          fastify.securityCounters.refreshReuse++
          request.log.warn({ familyId: known.family_id, userId: known.user_id }, 'refresh token reuse: family revoked')
        }
        return null
      })
      if (!result) {
        if (wantsCookie(request)) clearRefreshCookie(reply)
        throw new Unauthorized()
      }
      request.userId = result.user.id
      return wantsCookie(request) ? setRefreshCookie(reply, result, now) : result
    }
  )

  fastify.post(
    '/auth/logout',
    {
      config: { auth: 'public', rateLimit: sessionLimit, audit: { action: 'auth.logout', resourceType: 'session' } },
      schema: {
        tags: ['auth'],
        body: RefreshBody,
        headers: CookieHeaders,
        response: { 204: Type.Null(), ...errorResponses(400, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const now = fastify.clock()
      const presented = refreshTokenFrom(request, reply)
      if (!presented && !wantsCookie(request)) throw missingToken(request)
      if (wantsCookie(request)) clearRefreshCookie(reply)
      await fastify.sql.begin(async (tx) => {
        const token = presented ? await refreshTokenByHash(tx, hashToken(presented)) : null
        if (token) {
          // Revoking the family ends its access tokens too (their sid is checked like the token version).
          await revokeFamily(tx, token.family_id, now)
          fastify.tokens.forget(token.user_id)
        }
        // Logout answers 204 either way: it reveals nothing about the token.
        await request.audit(tx, {
          userId: token?.user_id ?? null,
          resourceId: token?.family_id ?? null,
          statusCode: 204,
          changes: { known: Boolean(token) }
        })
      })
      noStore(reply)
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/auth/logout-all',
    {
      config: { auth: 'user', rateLimit: sessionLimit, audit: { action: 'auth.logout.all', resourceType: 'user' } },
      schema: {
        tags: ['auth'],
        description: 'Ends every session of the caller: refresh tokens are revoked and access tokens stop working.',
        response: { 204: Type.Null(), ...errorResponses(401, 429) }
      }
    },
    async (request, reply) => {
      const userId = request.user?.id as string
      await fastify.sql.begin(async (tx) => {
        // Devices are forgotten too (a lost laptop's cookie): all but the one asking.
        const [, revoked] = await Promise.all([
          endAccessTokens(tx, userId),
          revokeAllOf(tx, userId, fastify.clock()),
          forgetDevices(tx, userId, devices.read(request))
        ])
        await request.audit(tx, { resourceId: userId, statusCode: 204, changes: { endedSessions: revoked } })
      })
      fastify.tokens.forget(userId)
      noStore(reply)
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/auth/password',
    {
      config: { auth: 'user', rateLimit: limit, audit: { action: 'auth.password.change', resourceType: 'user' } },
      schema: {
        tags: ['auth'],
        body: Type.Object(
          { currentPassword: Type.String({ minLength: 1, maxLength: 256 }), newPassword: Password },
          { additionalProperties: false }
        ),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const userId = request.user?.id as string
      const current = await passwordHashOf(fastify.sql, userId)
      if (!current || !(await verifyPassword(current, request.body.currentPassword))) throw new WrongPassword()
      const newHash = await hashPassword(request.body.newPassword)
      const now = fastify.clock()
      await fastify.sql.begin(async (tx) => {
        // Every session ends: refresh families are revoked and older access tokens carry an old version.
        const [, revoked] = await Promise.all([
          setPassword(tx, userId, newHash),
          revokeAllOf(tx, userId, now),
          forgetDevices(tx, userId, devices.read(request))
        ])
        await request.audit(tx, { resourceId: userId, statusCode: 204, changes: { endedSessions: revoked } })
      })
      fastify.tokens.forget(userId)
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/auth/verify-email',
    {
      config: { auth: 'public', rateLimit: limit, audit: { action: 'auth.email.verify', resourceType: 'user' } },
      schema: {
        tags: ['auth'],
        body: Type.Object({ token: Type.String({ minLength: 20, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 413, 415, 429) }
      }
    },
    async (request, reply) => {
      const now = fastify.clock()
      const verified = await fastify.sql.begin(async (tx) => {
        // Single use and expiring: an unknown, reused or expired token all fail the same way.
        const userId = await useVerificationToken(tx, hashToken(request.body.token), now)
        if (!userId) return false
        await Promise.all([
          markVerified(tx, userId, now),
          request.audit(tx, { userId, resourceId: userId, statusCode: 204 })
        ])
        return true
      })
      if (!verified) throw new InvalidVerificationToken()
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/auth/resend-verification',
    {
      config: { auth: 'public', rateLimit: limit, audit: { action: 'auth.email.resend', resourceType: 'user' } },
      schema: {
        tags: ['auth'],
        body: Type.Object({ email: Email }, { additionalProperties: false }),
        response: {
          202: Type.Object({ status: Type.Literal('accepted') }, { additionalProperties: false }),
          ...errorResponses(400, 413, 415, 429)
        }
      }
    },
    async (request, reply) => {
      await fastify.sql.begin(async (tx) => {
        const userId = await unverifiedUser(tx, normalizeEmail(request.body.email))
        if (userId && config.emailVerificationRequired) await sendVerification(tx, userId, request.id)
        // The same answer whether or not the email exists, is verified, or was sent a minute ago.
        await request.audit(tx, { userId, resourceId: null, statusCode: 202 })
      })
      return reply.code(202).send({ status: 'accepted' as const })
    }
  )

  fastify.get(
    '/auth/me',
    {
      config: { auth: 'user', rateLimit: sessionLimit },
      schema: { tags: ['auth'], response: { 200: User, ...errorResponses(401, 404, 429) } }
    },
    async (request) => {
      const user = await userById(fastify.sql, request.user?.id as string)
      if (!user) throw new Unauthorized()
      return toUser(user)
    }
  )
}

export default authRoutes
