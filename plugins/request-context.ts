import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin once the caller is known; logged and stored with telemetry. */
    userId: string | null
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Fastify's genReqId: accept a well-formed client id, otherwise mint a UUID. */
export function requestIdFrom(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

async function requestContextPlugin(fastify: FastifyInstance) {
  fastify.decorateRequest('userId', null)

  fastify.addHook('onRequest', function echoRequestId(request: FastifyRequest, reply: FastifyReply, done) {
    reply.header('x-request-id', request.id)
    done()
  })

  // One line per request, on completion (Fastify's own two request lines are disabled).
  fastify.addHook('onResponse', function logCompletion(request: FastifyRequest, reply: FastifyReply, done) {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        userId: request.userId
      },
      'request completed'
    )
    done()
  })
}

export default fp(requestContextPlugin, { name: 'request-context', fastify: '5.x' })
