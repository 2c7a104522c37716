import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errorBody } from '../src/errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Overrides HANDLER_TIMEOUT_MS for one route (health probes outlast their own timeout). */
    handlerTimeoutMs?: number
  }
  interface FastifyInstance {
    /** Draining: keep-alive clients are asked to reconnect; closing: new requests get a 503. */
    lifecycle: { draining: boolean; closing: boolean }
  }
  interface FastifyRequest {
    /** When (performance.now()) the handler's time is up; 0 outside a handler. */
    handlerDeadline: number
  }
}

export interface LifecyclePluginOptions {
  handlerTimeoutMs: number
}

/** How often handlers in progress are checked against their deadline: a deadline fires up to this late. */
export const DEADLINE_SWEEP_MS = 50

/**
 * Shutdown and handler deadlines. A handler stuck on the database (a partition, a lock) answers
 * 503 instead of hanging. The clock starts once the body is in: a slow upload is
 * REQUEST_TIMEOUT_MS's business (Fastify's own handlerTimeout counts the upload too, and cuts
 * slow clients off with a 503). Handlers in progress sit in one map that a single interval
 * sweeps while it is not empty: a timer per request costs more than the rest of the hook.
 */
async function lifecyclePlugin(fastify: FastifyInstance, opts: LifecyclePluginOptions) {
  fastify.decorate('lifecycle', { draining: false, closing: false })
  fastify.decorateRequest('handlerDeadline', 0)

  fastify.addHook('onRequest', function refuseWhileClosing(request, reply, done) {
    if (!fastify.lifecycle.draining) return done()
    // While draining, ask keep-alive clients to reconnect, so no idle socket is cut at close.
    reply.header('connection', 'close')
    if (!fastify.lifecycle.closing) return done()
    reply.code(503).send(errorBody(503, 'APP_ERR_SHUTTING_DOWN', 'The service is shutting down', request.id))
  })

  const inHandler = new Map<FastifyRequest, FastifyReply>()
  let sweeper: NodeJS.Timeout | null = null
  const sweep = () => {
    const now = performance.now()
    for (const [request, reply] of inHandler) {
      // A client that went away: its request leaves at the next sweep (an onRequestAbort hook
      // would cost every request a 'close' listener). The response's stream says so: the
      // request's is destroyed as soon as a body has been read.
      if (reply.raw.destroyed) {
        inHandler.delete(request)
        continue
      }
      if (request.handlerDeadline > now) continue
      inHandler.delete(request)
      if (reply.sent) continue
      const ms = request.routeOptions.config.handlerTimeoutMs ?? opts.handlerTimeoutMs
      request.log.warn({ route: request.routeOptions.url, handlerTimeoutMs: ms }, 'handler timed out')
      reply
        .code(503)
        .send(errorBody(503, 'APP_ERR_TIMEOUT', 'The request did not complete in time, please retry', request.id))
    }
    if (inHandler.size === 0 && sweeper) {
      clearInterval(sweeper)
      sweeper = null
    }
  }

  fastify.addHook('preHandler', function startHandlerDeadline(request, reply, done) {
    const ms = request.routeOptions.config.handlerTimeoutMs ?? opts.handlerTimeoutMs
    request.handlerDeadline = performance.now() + ms
    inHandler.set(request, reply)
    if (!sweeper) {
      sweeper = setInterval(sweep, DEADLINE_SWEEP_MS)
      sweeper.unref()
    }
    done()
  })
  fastify.addHook('onResponse', function clearHandlerDeadline(request, _reply, done) {
    inHandler.delete(request)
    done()
  })
  fastify.addHook('preClose', function markClosing(done) {
    fastify.lifecycle.draining = true
    fastify.lifecycle.closing = true
    done()
  })
  fastify.addHook('onClose', function stopSweeping(_instance, done) {
    if (sweeper) clearInterval(sweeper)
    sweeper = null
    inHandler.clear()
    done()
  })
}

export default fp(lifecyclePlugin, { name: 'lifecycle', fastify: '5.x' })
