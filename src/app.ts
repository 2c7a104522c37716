import { readFileSync } from 'node:fs'
import { AjvCompiler } from '@fastify/ajv-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
  type RouteOptions
} from 'fastify'
import auditPlugin from '../plugins/audit.ts'
import authPlugin, { type AuthUser, type Role } from '../plugins/auth.ts'
import dbPlugin from '../plugins/db.ts'
import docsPlugin, { DOCS_PREFIX } from '../plugins/docs.ts'
import idempotencyPlugin from '../plugins/idempotency.ts'
import lifecyclePlugin from '../plugins/lifecycle.ts'
import metricsPlugin from '../plugins/metrics.ts'
import queuePlugin from '../plugins/queue.ts'
import rateLimitPlugin from '../plugins/rate-limit.ts'
import requestContextPlugin, { lazyChildLogger, requestIdFrom } from '../plugins/request-context.ts'
import securityPlugin, { SECURITY_HEADERS } from '../plugins/security.ts'
import telemetryPlugin from '../plugins/telemetry.ts'
import type { Config } from './config.ts'
import { readMigrations } from './db/migrate.ts'
import { errorBody, errorHandler, formatSchemaErrors, frameworkErrorHandler, notFoundHandler } from './errors.ts'
import adminRoutes from './routes/admin/index.ts'
import authRoutes from './routes/auth/index.ts'
import exportRoutes from './routes/exports/index.ts'
import healthRoutes from './routes/health/index.ts'
import { bodyMayBeOmitted, noBodyIsEmptyObject, setLocation } from './routes/schemas.ts'
import simulationRoutes from './routes/simulations/index.ts'
import workspaceRoutes from './routes/workspaces/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    redisStatus: (() => 'connected' | 'degraded') | null
    /** The app's notion of now; tests move it to expire lockouts and token families. */
    clock: () => Date
    securityCounters: { lockouts: number; refreshReuse: number }
    /** Every route as registered, for the authz walk, the audit walk and the generated docs. */
    routeTable: RouteEntry[]
  }
}

export interface RouteEntry {
  method: string
  url: string
  auth: string | undefined
  ownership: string | undefined
  audit: { action: string; resourceType: string } | undefined
  /** The route's schemas (params, querystring, body, response), for docs and the schema fuzzer. */
  schema: Record<string, unknown> | undefined
}

/** The user every request is authenticated as when BYPASS_AUTH=true (development only). */
export const DEV_USER: AuthUser = Object.freeze({ id: '00000000-0000-4000-8000-000000000001', role: 'user' })

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

/** Explicit paths: pino's `*` matches one level only. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-metrics-secret"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'body.password',
  'body.currentPassword',
  'body.newPassword',
  'body.token',
  'body.refreshToken',
  'user.password',
  'user.passwordHash',
  'config.jwt.secret',
  'config.jwt.previousSecrets',
  'config.metrics.secret',
  'config.databaseUrl',
  'config.redisUrl',
  'config.email.smtpUrl'
]

const ajvCompilers = AjvCompiler()

/**
 * Querystring, params and headers arrive as strings and are coerced to their schema types;
 * a JSON body is validated as sent, so `{"name": 123}` is a 400, not "123".
 */
function buildValidator(externalSchemas: unknown, ajvOptions: unknown) {
  const options = ajvOptions as { customOptions: Record<string, unknown> }
  const coercing = ajvCompilers(
    externalSchemas as never,
    {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: 'array' }
    } as never
  )
  const strict = ajvCompilers(
    externalSchemas as never,
    {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: false }
    } as never
  )
  return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict : coercing)(route as never)
}

export interface BuildOptions {
  /** Where log lines go (tests capture them); defaults to stdout. */
  logStream?: NodeJS.WritableStream
  /** Overrides config.databaseUrl (the embedded database's URL in development). */
  databaseUrl?: string
  applicationName?: string
  clock?: () => Date
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyServerOptions['logger'] = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(options.logStream ? { stream: options.logStream } : {})
  }
  const app = Fastify({
    logger,
    genReqId: (req) => requestIdFrom(req.headers),
    // One completion line per request comes from the request-context plugin instead.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // We answer 503 ourselves while closing, in the error shape and with the request id.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // X-Forwarded-For is honoured only from these proxies; nothing else can pick its own address.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    frameworkErrors: frameworkErrorHandler(SECURITY_HEADERS),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors,
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('redisStatus', null)
  app.decorate('clock', options.clock ?? (() => new Date()))
  app.decorate('securityCounters', { lockouts: 0, refreshReuse: 0 })
  app.setErrorHandler(errorHandler)

  await app.register(requestContextPlugin)
  await app.register(securityPlugin, { corsAllowedOrigins: config.corsAllowedOrigins })
  await app.register(rateLimitPlugin, {
    ...config.rateLimit,
    redisUrl: config.redisUrl,
    keyPrefix: config.redisKeyPrefix
  })
  // Unknown URLs spend the client's budget too.
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFoundHandler)
  await app.register(lifecyclePlugin, { handlerTimeoutMs: config.handlerTimeoutMs })

  await app.register(dbPlugin, {
    url: options.databaseUrl ?? config.databaseUrl,
    requirePatchedDriver: config.isProduction,
    poolMax: config.databasePoolMax,
    connectTimeoutSeconds: config.databaseConnectTimeoutSeconds,
    statementTimeoutMs: config.handlerTimeoutMs,
    applicationName: options.applicationName
  })
  await app.register(queuePlugin)
  await app.register(telemetryPlugin, { sampleRate: config.requestTelemetrySampleRate })
  await app.register(authPlugin, {
    secret: config.jwt.secret,
    previousSecrets: config.jwt.previousSecrets,
    accessTtlSeconds: config.jwt.accessTtlSeconds,
    bypassUser: config.bypassAuth ? DEV_USER : null,
    publicPrefixes: [DOCS_PREFIX],
    loadUserState: async (userId, sessionId) => {
      const [row] = await app.sql<{ token_version: number; disabled: boolean; role: Role; revoked: boolean }[]>`
        select u.token_version, u.disabled_at is not null as disabled, u.role,
               ${sessionId}::uuid is not null and not exists (
                 select 1 from app.refresh_tokens r where r.family_id = ${sessionId}::uuid and r.revoked_at is null
               ) as revoked
        from app.users u
        where u.id = ${userId}
      `
      return row
        ? { tokenVersion: row.token_version, disabled: row.disabled, role: row.role, sessionRevoked: row.revoked }
        : null
    }
  })
  await app.register(auditPlugin, { hmacKey: config.auditHmacKey })
  await app.register(idempotencyPlugin)
  app.decorate('routeTable', [])
  app.addHook('onRoute', function acceptOmittedBody(route) {
    if (!bodyMayBeOmitted(route.schema?.body)) return
    const hooks = route.preValidation ? [route.preValidation].flat() : []
    route.preValidation = [...hooks, noBodyIsEmptyObject] as RouteOptions['preValidation']
  })
  app.addHook('onRoute', function locateCreated(route) {
    if (!route.config?.location) return
    const hooks = route.preSerialization ? [route.preSerialization].flat() : []
    route.preSerialization = [...hooks, setLocation] as RouteOptions['preSerialization']
  })
  // Added after the auth plugin, so each row shows the declaration that plugin settled.
  app.addHook('onRoute', function recordRoute(route) {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      // HEAD routes mirror their GET (Fastify adds them); the GET row speaks for both.
      if (method === 'HEAD') continue
      app.routeTable.push({
        method,
        url: route.url,
        auth: route.config?.auth,
        ownership: route.config?.ownership,
        audit: route.config?.audit,
        schema: route.schema as Record<string, unknown> | undefined
      })
    }
  })
  if (config.metrics.enabled) {
    await app.register(metricsPlugin, {
      guard: config.metrics.guard,
      secret: config.metrics.secret,
      allowlist: config.metrics.allowlist
    })
  }
  await app.register(docsPlugin, {
    uiEnabled: config.docsEnabled,
    documentPublic: config.openapiPublic,
    version: VERSION
  })
  if (config.bypassAuth) {
    await app.sql`
      insert into app.users (id, email, email_normalized, display_name, password_hash, role)
      values (${DEV_USER.id}, 'dev@localhost', 'dev@localhost', 'Development user', '!', ${DEV_USER.role})
      on conflict (id) do nothing
    `
  }

  const expectedMigrations = (await readMigrations()).length
  await app.register(healthRoutes, { expectedMigrations, version: VERSION, details: config.healthDetails })
  await app.register(authRoutes)
  await app.register(adminRoutes)
  await app.register(workspaceRoutes)
  await app.register(simulationRoutes)
  await app.register(exportRoutes)
  return app
}
