import type { Context } from '@opentelemetry/api'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, Logger } from 'pino'
import { uuidv7 } from '../src/ids.ts'
import type { TraceIds } from '../src/tracing.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin once the caller is known; logged and stored with telemetry. */
    userId: string | null
    /** The request's server span in its context, set by the tracing plugin (null without tracing). */
    traceContext: Context | null
    /** That span's ids, read once for the response header, log lines, telemetry and audit rows. */
    traceIds: TraceIds | null
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Fastify's genReqId: accept a well-formed client id, otherwise mint a UUIDv7. */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7()
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * `request.log` without a pino child per request: Fastify makes one for every request (its
 * bindings serialised up front) even when nothing is logged. This one makes the child the first
 * time a line is actually written at an enabled level, and is otherwise one small object.
 */
class LazyChildLogger {
  #parent: Logger
  #bindings: Bindings
  #options: ChildLoggerOptions
  #child: Logger | null = null

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #write(level: Level, args: unknown[]): void {
    if (this.#child) (this.#child[level] as (...a: unknown[]) => void)(...args)
    else if (this.#parent.isLevelEnabled(level)) (this.#real()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level)
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args)
  }
  error(...args: unknown[]): void {
    this.#write('error', args)
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args)
  }
  info(...args: unknown[]): void {
    this.#write('info', args)
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args)
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#real().child(bindings, options)
  }

  bindings(): Bindings {
    return { ...this.#parent.bindings(), ...this.#bindings }
  }
}

/** Fastify's childLoggerFactory: a lazy child, unless the route sets its own level or serializers. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions
): FastifyBaseLogger {
  if (options.level || options.serializers) return logger.child(bindings, options)
  return new LazyChildLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger
}

async function requestContextPlugin(fastify: FastifyInstance) {
  fastify.decorateRequest('userId', null)
  fastify.decorateRequest('traceContext', null)
  fastify.decorateRequest('traceIds', null)

  fastify.addHook('onRequest', function echoRequestId(request: FastifyRequest, reply: FastifyReply, done) {
    reply.header('x-request-id', request.id)
    done()
  })

  // One line per request, on completion (Fastify's own two request lines are disabled). Written
  // on the app's logger with the request id as a field: the same line, without a child logger.
  fastify.addHook('onResponse', function logCompletion(request: FastifyRequest, reply: FastifyReply, done) {
    // Most of this line's cost is building it: not at all when info lines are off.
    if (!(fastify.log as Logger).isLevelEnabled('info')) return done()
    const ids = request.traceIds
    fastify.log.info(
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? null,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        userId: request.userId,
        ...(ids ? (ids.spanId ? { trace_id: ids.traceId, span_id: ids.spanId } : { trace_id: ids.traceId }) : {})
      },
      'request completed'
    )
    done()
  })
}

export default fp(requestContextPlugin, { name: 'request-context', fastify: '5.x' })
