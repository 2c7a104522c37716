import { readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify'
import dbPlugin from '../plugins/db.ts'
import queuePlugin from '../plugins/queue.ts'
import requestContextPlugin, { requestIdFrom } from '../plugins/request-context.ts'
import type { Config } from './config.ts'
import { readMigrations } from './db/migrate.ts'
import { errorBody, errorHandler, notFoundHandler } from './errors.ts'
import healthRoutes from './routes/health/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    lifecycle: { draining: boolean; closing: boolean }
    redisStatus: (() => 'connected' | 'degraded') | null
  }
}

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
  'config.redisUrl'
]

export interface BuildOptions {
  /** Where log lines go (tests capture them); defaults to stdout. */
  logStream?: NodeJS.WritableStream
  /** Overrides config.databaseUrl (the embedded database's URL in development). */
  databaseUrl?: string
  applicationName?: string
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
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // We answer 503 ourselves while closing, in the error shape and with the request id.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorate('config', config)
  app.decorate('lifecycle', { draining: false, closing: false })
  app.decorate('redisStatus', null)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)

  await app.register(requestContextPlugin)
  app.addHook('onRequest', async function refuseWhileClosing(request, reply) {
    // While draining, ask keep-alive clients to reconnect, so no idle socket is cut at close.
    if (app.lifecycle.draining) reply.header('connection', 'close')
    if (!app.lifecycle.closing) return
    reply.header('connection', 'close')
    return reply.code(503).send(errorBody(503, 'APP_ERR_SHUTTING_DOWN', 'The service is shutting down', request.id))
  })
  app.addHook('preClose', function markClosing(done) {
    app.lifecycle.closing = true
    done()
  })

  await app.register(dbPlugin, {
    url: options.databaseUrl ?? config.databaseUrl,
    poolMax: config.databasePoolMax,
    connectTimeoutSeconds: config.databaseConnectTimeoutSeconds,
    applicationName: options.applicationName
  })
  await app.register(queuePlugin)

  const expectedMigrations = (await readMigrations()).length
  await app.register(healthRoutes, { expectedMigrations, version: VERSION })
  return app
}
