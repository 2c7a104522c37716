import { randomUUID } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { UserState } from '../src/accounts/users.ts'
import { Forbidden, Unauthorized } from '../src/errors.ts'
import { appendRouteHook } from '../src/route-hooks.ts'

export const Roles = ['user', 'admin'] as const
export type Role = (typeof Roles)[number]
export const AuthLevels = ['public', 'user', 'admin'] as const
export type AuthLevel = (typeof AuthLevels)[number]

export interface AuthUser {
  id: string
  role: Role
  /** users.token_version when the token was issued. */
  tokenVersion?: number
  /** The login session (refresh-token family) the token was issued to; logout ends its tokens. */
  sessionId?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: every route declares it (checked at start-up). */
    auth?: AuthLevel
    /** For the authz matrix: which ownership rule the handler applies, if any. */
    ownership?: string
    /** A public route that knows its caller when a valid token comes (else `request.user` stays null). */
    identifies?: boolean
  }
  interface FastifyRequest {
    user: AuthUser | null
  }
  interface FastifyInstance {
    tokens: {
      signAccess(user: AuthUser): string
      accessTtlSeconds: number
      /** Drops this instance's cached state of a user at once (others expire it within the TTL). */
      forget(userId: string): void
    }
  }
}

export interface AuthPluginOptions {
  secret: string
  previousSecrets: readonly string[]
  accessTtlSeconds: number
  /** Development only (config refuses it in production): every request is this user. */
  bypassUser?: AuthUser | null
  /** Routes registered by third-party plugins under these prefixes (the docs UI) are public. */
  publicPrefixes?: readonly string[]
  /** Reads a user's token version, disabled flag, role and session; null when the user no longer exists. */
  loadUserState?: (userId: string, sessionId: string | null) => Promise<UserState | null>
  /** How long a user's state is trusted before it is read again. */
  userStateTtlMs?: number
}

const ISSUER = 'system-design-coach'
const AUDIENCE = 'sdc-api'
const ACCESS_TYP = 'access'
/** Clock skew tolerated between instances, in ms. */
const CLOCK_TOLERANCE_MS = 5000
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/

function routeKey(route: Pick<RouteOptions, 'method' | 'url'>): string {
  return `${Array.isArray(route.method) ? route.method.join(',') : route.method} ${route.url}`
}

async function authPlugin(fastify: FastifyInstance, opts: AuthPluginOptions) {
  if (!opts.secret || opts.secret.length < 16) throw new Error('auth plugin: secret must be at least 16 characters')
  if (!(opts.accessTtlSeconds > 0)) throw new Error('auth plugin: accessTtlSeconds must be positive')

  const sign = createSigner({
    key: opts.secret,
    algorithm: 'HS256',
    expiresIn: opts.accessTtlSeconds * 1000,
    iss: ISSUER,
    aud: AUDIENCE
  })
  // One cached verifier per accepted secret: the current one first, then those being rotated out.
  const verifiers = [opts.secret, ...opts.previousSecrets].map((key) =>
    createVerifier({
      key,
      algorithms: ['HS256'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud', 'typ', 'role', 'jti', 'tv'],
      clockTolerance: CLOCK_TOLERANCE_MS
    })
  )

  // Tokens already verified, by their exact text, until they expire: a hit costs a map lookup
  // instead of an HMAC (fast-jwt's own cache would hash every token with SHA-256 to find it).
  // Only a token that verified, byte for byte, is ever found here.
  const verified = new Map<string, { user: AuthUser; expiresAt: number }>()
  function verify(token: string): AuthUser | null {
    const hit = verified.get(token)
    if (hit) {
      if (hit.expiresAt > Date.now()) return hit.user
      verified.delete(token)
    }
    const user = verifyAgainstSecrets(token)
    if (user) {
      if (verified.size >= 10_000) verified.delete(verified.keys().next().value as string)
      verified.set(token, { user: Object.freeze(user.user), expiresAt: user.exp * 1000 + CLOCK_TOLERANCE_MS })
    }
    return user?.user ?? null
  }

  function verifyAgainstSecrets(token: string): { user: AuthUser; exp: number } | null {
    for (const verifier of verifiers) {
      let payload: Record<string, unknown>
      try {
        payload = verifier(token)
      } catch (err) {
        // Only a signature mismatch is worth trying the previous secret for.
        if ((err as { code?: string }).code === 'FAST_JWT_INVALID_SIGNATURE') continue
        return null
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null
      if (payload.typ !== ACCESS_TYP || typeof payload.sub !== 'string') return null
      if (payload.role !== 'user' && payload.role !== 'admin') return null
      if (typeof payload.tv !== 'number') return null
      if (payload.sid !== undefined && typeof payload.sid !== 'string') return null
      if (typeof payload.exp !== 'number') return null
      return {
        user: { id: payload.sub, role: payload.role, tokenVersion: payload.tv, sessionId: payload.sid },
        exp: payload.exp
      }
    }
    return null
  }

  // A password change, a disable, a role change or a logout must end earlier access tokens: the
  // token's version, role and session are checked against the database, read at most once per
  // TTL per user session and instance.
  const states = new Map<string, { state: UserState | null; expires: number }>()
  const ttl = opts.userStateTtlMs ?? 5000
  const stateKey = (user: AuthUser) => `${user.id}|${user.sessionId ?? ''}`
  /** The state read within the TTL, or undefined: most requests need no read and no promise. */
  function cachedState(key: string): { state: UserState | null } | undefined {
    const cached = states.get(key)
    return cached && cached.expires > Date.now() ? cached : undefined
  }
  async function readState(user: AuthUser, key: string): Promise<UserState | null> {
    const state = opts.loadUserState
      ? await opts.loadUserState(user.id, user.sessionId ?? null)
      : { tokenVersion: 0, disabled: false, role: user.role, sessionRevoked: false }
    if (states.size >= 10_000) states.delete(states.keys().next().value as string)
    states.set(key, { state, expires: Date.now() + ttl })
    return state
  }

  fastify.decorate('tokens', {
    signAccess: (user: AuthUser) =>
      sign({
        sub: user.id,
        role: user.role,
        typ: ACCESS_TYP,
        jti: randomUUID(),
        tv: user.tokenVersion ?? 0,
        ...(user.sessionId ? { sid: user.sessionId } : {})
      }),
    accessTtlSeconds: opts.accessTtlSeconds,
    forget: (userId: string) => {
      const prefix = `${userId}|`
      for (const key of states.keys()) if (key.startsWith(prefix)) states.delete(key)
    }
  })
  fastify.decorateRequest('user', null)

  fastify.addHook('onRoute', function requireAuthDeclaration(route) {
    // @fastify/cors answers preflights itself on a catch-all OPTIONS route.
    if (route.method === 'OPTIONS' && route.url.endsWith('*')) {
      route.config = { ...route.config, auth: 'public' }
      return
    }
    if (opts.publicPrefixes?.some((prefix) => route.url === prefix || route.url.startsWith(`${prefix}/`))) {
      route.config = { ...route.config, auth: route.config?.auth ?? 'public' }
    }
    const level = route.config?.auth
    if (!level || !(AuthLevels as readonly string[]).includes(level)) {
      throw new Error(`route ${routeKey(route)} must declare config.auth as one of ${AuthLevels.join(', ')}`)
    }
    if (level === 'public') {
      if (route.config?.identifies) appendRouteHook(route, 'onRequest', identify)
      return
    }
    // A route-level hook, appended after the rate limiter's: a flood of bad tokens is limited first.
    appendRouteHook(route, 'onRequest', authenticate)
  })

  /** The token's user as the database now sees it; null when the token no longer stands. */
  function current(user: AuthUser, state: UserState | null): AuthUser | null {
    if (!state || state.disabled || state.sessionRevoked || state.tokenVersion !== user.tokenVersion) return null
    return state.role === user.role ? user : { ...user, role: state.role }
  }

  function admit(request: FastifyRequest, user: AuthUser | null): Error | undefined {
    if (!user) return new Unauthorized()
    request.user = user
    request.userId = user.id
    if (request.routeOptions.config.auth === 'admin' && user.role !== 'admin')
      return new Forbidden('This action requires the admin role')
    return undefined
  }

  /** A public route's caller when the token stands; anonymous otherwise, never refused. */
  function identify(request: FastifyRequest, _reply: FastifyReply, done: () => void) {
    const match = BEARER.exec(request.headers.authorization ?? '')
    const user = opts.bypassUser ?? (match ? verify(match[1]) : null)
    if (!user) return done()
    const known = (state: UserState | null) => {
      const caller = opts.bypassUser ?? current(user, state)
      if (caller) {
        request.user = caller
        request.userId = caller.id
      }
      done()
    }
    const key = stateKey(user)
    const cached = cachedState(key)
    if (cached || opts.bypassUser) return known(cached?.state ?? null)
    readState(user, key).then(known, () => done())
  }

  // A callback hook, not an async one: with the token and the user's state cached (most requests)
  // it answers at once, without a promise and a turn of the microtask queue.
  function authenticate(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) {
    if (opts.bypassUser) return done(admit(request, opts.bypassUser))
    const match = BEARER.exec(request.headers.authorization ?? '')
    const user = match ? verify(match[1]) : null
    if (!user) return done(new Unauthorized())
    const key = stateKey(user)
    const cached = cachedState(key)
    if (cached) return done(admit(request, current(user, cached.state)))
    readState(user, key).then(
      (state) => done(admit(request, current(user, state))),
      (err: Error) => done(err)
    )
  }
}

export default fp(authPlugin, { name: 'auth', dependencies: ['request-context'], fastify: '5.x' })
