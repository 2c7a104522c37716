import { readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import auditPlugin from '../plugins/audit.ts'
import authPlugin from '../plugins/auth.ts'
import dbPlugin from '../plugins/db.ts'
import devUserPlugin, { DEV_USER } from '../plugins/dev-user.ts'
import docsPlugin, { DOCS_PREFIX } from '../plugins/docs.ts'
import enginePlugin from '../plugins/engine.ts'
import idempotencyPlugin from '../plugins/idempotency.ts'
import lifecyclePlugin from '../plugins/lifecycle.ts'
import metricsPlugin from '../plugins/metrics.ts'
import queuePlugin from '../plugins/queue.ts'
import rateLimitPlugin from '../plugins/rate-limit.ts'
import requestContextPlugin, { lazyChildLogger, requestIdFrom } from '../plugins/request-context.ts'
import routeTablePlugin from '../plugins/route-table.ts'
import securityPlugin, { SECURITY_HEADERS } from '../plugins/security.ts'
import telemetryPlugin from '../plugins/telemetry.ts'
import tracingPlugin from '../plugins/tracing.ts'
import webPlugin from '../plugins/web.ts'
import { loadUserState } from './accounts/users.ts'
import type { Config } from './config.ts'
import { readMigrations } from './db/migrate.ts'
import { CATALOGUE, type Catalogue } from './domain/components.ts'
import { errorHandler, formatSchemaErrors, frameworkErrorHandler, notFoundHandler } from './error-handler.ts'
import { loggerOptions } from './logging.ts'
import type { QueueDefinition } from './queue/jobs.ts'
import accountRoutes from './routes/account/index.ts'
import adminRoutes from './routes/admin/index.ts'
import authRoutes from './routes/auth/index.ts'
import assignmentRoutes from './routes/classes/assignments.ts'
import classRoutes from './routes/classes/index.ts'
import exerciseRoutes from './routes/exercises/index.ts'
import exportRoutes from './routes/exports/index.ts'
import healthRoutes from './routes/health/index.ts'
import progressRoutes from './routes/progress/index.ts'
import shareRoutes from './routes/shares/index.ts'
import simulationRoutes from './routes/simulations/index.ts'
import workspaceRoutes from './routes/workspaces/index.ts'
import { instrumentStatements, tracingEnabled } from './tracing.ts'
import { UNIT_KEYWORD } from './validation-problems.ts'
import { buildValidator } from './validator.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    redisStatus: (() => 'connected' | 'degraded') | null
    /** The app's notion of now; tests move it to expire lockouts and token families. */
    clock: () => Date
    securityCounters: { lockouts: number; refreshReuse: number }
    /** The component types designs are read with (the api's schema, validation and previews). */
    catalogue: Catalogue
  }
}

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

export interface BuildOptions {
  /** Where log lines go (tests capture them); defaults to stdout. */
  logStream?: NodeJS.WritableStream
  /** Overrides config.databaseUrl (the embedded database's URL in development). */
  databaseUrl?: string
  applicationName?: string
  clock?: () => Date
  /** The queues the api creates and sends to: the entry point passes jobs/registry.ts's list. */
  queues: readonly QueueDefinition[]
  /** The built web app (web/dist) to serve at `/`; none when absent. */
  webRoot?: string
  /** The component types designs may use (default: the domain's CATALOGUE). */
  catalogue?: Catalogue
}

export async function buildApp(config: Config, options: BuildOptions): Promise<FastifyInstance> {
  const logger: FastifyServerOptions['logger'] = {
    ...loggerOptions(config.logLevel),
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
    // `verbose`: a refusal's plain sentences read the failing field's schema (validation-problems.ts).
    ajv: { customOptions: { removeAdditional: false, allErrors: false, verbose: true, keywords: [UNIT_KEYWORD] } },
    schemaErrorFormatter: formatSchemaErrors,
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('redisStatus', null)
  app.decorate('clock', options.clock ?? (() => new Date()))
  app.decorate('securityCounters', { lockouts: 0, refreshReuse: 0 })
  app.decorate('catalogue', options.catalogue ?? CATALOGUE)
  app.setErrorHandler(errorHandler)

  await app.register(requestContextPlugin)
  if (tracingEnabled()) await app.register(tracingPlugin, { trustedPeers: config.trustProxy })
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
  instrumentStatements(app.sql)
  await app.register(queuePlugin, { queues: options.queues })
  await app.register(telemetryPlugin, {
    sampleRate: config.requestTelemetrySampleRate,
    flushIntervalMs: config.telemetryFlushIntervalMs
  })
  await app.register(authPlugin, {
    secret: config.jwt.secret,
    previousSecrets: config.jwt.previousSecrets,
    accessTtlSeconds: config.jwt.accessTtlSeconds,
    bypassUser: config.bypassAuth ? DEV_USER : null,
    publicPrefixes: [DOCS_PREFIX],
    loadUserState: (userId, sessionId) => loadUserState(app.sql, userId, sessionId)
  })
  await app.register(auditPlugin, { hmacKey: config.auditHmacKey })
  await app.register(idempotencyPlugin)
  await app.register(enginePlugin, { ...config.preview, catalogue: app.catalogue })
  await app.register(routeTablePlugin)
  const expectedMigrations = (await readMigrations()).length
  if (config.metrics.enabled) {
    await app.register(metricsPlugin, {
      expectedMigrations,
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
  if (config.bypassAuth) await app.register(devUserPlugin)
  if (options.webRoot) await app.register(webPlugin, { root: options.webRoot })

  await app.register(healthRoutes, { expectedMigrations, version: VERSION, details: config.healthDetails })
  await app.register(authRoutes)
  await app.register(accountRoutes)
  await app.register(adminRoutes)
  await app.register(workspaceRoutes)
  await app.register(classRoutes)
  await app.register(assignmentRoutes)
  await app.register(shareRoutes)
  await app.register(simulationRoutes)
  await app.register(exportRoutes)
  await app.register(exerciseRoutes)
  await app.register(progressRoutes)
  return app
}
