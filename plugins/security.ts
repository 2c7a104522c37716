import cors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errorBody } from '../src/errors.ts'
import { appendRouteHook } from '../src/route-hooks.ts'

export interface SecurityPluginOptions {
  corsAllowedOrigins: readonly string[]
}

// Computed once (@fastify/helmet rebuilds these on every request), on every response of every
// status, the web app's pages included: the seed's set (OWASP's secure headers). `no-referrer`
// also keeps a share link's token out of the next site's logs.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy':
    'accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()'
})

/** On the answers of routes that need a signed-in caller, and of those that hand out tokens (OWASP REST). */
export const NO_STORE = 'no-store'

/** The only request body type accepted: exactly application/json, optionally with charset=utf-8. */
const JSON_CONTENT_TYPE = /^application\/json(; ?charset=utf-8)?$/i
const STRICT_LOWERCASE_TYPE = /^application\/json/
/** The methods whose requests Fastify parses a body for. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

async function securityPlugin(fastify: FastifyInstance, opts: SecurityPluginOptions) {
  if (!Array.isArray(opts.corsAllowedOrigins)) throw new Error('security plugin: corsAllowedOrigins must be an array')
  fastify.addHook('onRequest', function secureHeaders(_request: FastifyRequest, reply: FastifyReply, done) {
    reply.headers(SECURITY_HEADERS)
    done()
  })

  // Fastify accepts media types case-insensitively and with odd spacing; this API is stricter,
  // so a body only ever reaches a handler through one well-known parser. Only methods that carry
  // a body are checked (Fastify parses none for GET and HEAD).
  function strictContentType(request: FastifyRequest, reply: FastifyReply, done: () => void) {
    const type = request.headers['content-type']
    if (type === undefined) return done()
    if (!JSON_CONTENT_TYPE.test(type) || !STRICT_LOWERCASE_TYPE.test(type)) {
      reply
        .code(415)
        .send(errorBody(415, 'APP_ERR_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', request.id))
      return
    }
    done()
  }

  // Postgres cannot store U+0000, nor a lone surrogate in jsonb: refuse them up front as the
  // client's 400, before any work (the schema fuzzer found both as 500s on a workspace name), on
  // every route (a query string is recorded with an audited read).
  fastify.addHook('preValidation', function refuseUnstorableText(request: FastifyRequest, reply: FastifyReply, done) {
    if (!unstorableText(request.body) && !unstorableText(request.query) && !unstorableText(request.params)) {
      return done()
    }
    const message = 'Text must be well-formed Unicode without NUL (U+0000) characters'
    reply.code(400).send(errorBody(400, 'APP_ERR_INVALID_TEXT', message, request.id))
  })

  fastify.addHook('onRoute', function checkBodyType(route) {
    if ([route.method].flat().some((m) => BODY_METHODS.has(m))) appendRouteHook(route, 'onRequest', strictContentType)
  })
  // A signed-in caller's answer (or a token) is never kept by a cache: declared per route, once.
  fastify.addHook('onRoute', function noStoreForCallers(route) {
    const auth = route.config?.auth
    if (auth === 'user' || auth === 'admin' || route.url.startsWith('/auth/'))
      appendRouteHook(route, 'onRequest', noStore)
  })

  const allowed = new Set(opts.corsAllowedOrigins)
  await fastify.register(cors, {
    // A foreign origin and the opaque `null` origin get no Access-Control-Allow-Origin.
    origin: (origin, cb) => cb(null, origin !== undefined && origin !== 'null' && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'Origin',
      'X-Requested-With',
      'X-Request-Id',
      'Idempotency-Key'
    ],
    // What a browser client may read beyond the safelisted headers: ids, limits, where a new
    // resource is read, whether an answer is a replay, and an export's file name.
    exposedHeaders: [
      'x-request-id',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'retry-after',
      'location',
      'idempotent-replayed',
      'content-disposition'
    ],
    maxAge: 86400,
    optionsSuccessStatus: 204,
    strictPreflight: true,
    hideOptionsRoute: true
  })
}

function noStore(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
  reply.header('cache-control', NO_STORE)
  done()
}

const unstorable = (text: string) => text.includes('\u0000') || !text.isWellFormed()

/** True when any string (or key) in a parsed value holds U+0000 or a lone surrogate; iterative, for deep input. */
export function unstorableText(value: unknown): boolean {
  // Most requests carry no body and empty params and query: answer those without allocating.
  if (value === undefined || value === null) return false
  if (typeof value === 'object' && isEmpty(value)) return false
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (typeof item === 'string') {
      if (unstorable(item)) return true
    } else if (item && typeof item === 'object') {
      for (const [key, inner] of Object.entries(item)) {
        if (unstorable(key)) return true
        stack.push(inner)
      }
    }
  }
  return false
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false
  return true
}

export default fp(securityPlugin, { name: 'security', fastify: '5.x' })
