import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { TransactionSql } from '../src/db/client.ts'
import { Conflict, errorBody } from '../src/errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours `Idempotency-Key`: a retry with the same key replays the first response. */
    idempotent?: boolean
  }
  interface FastifyRequest {
    /** The caller's Idempotency-Key on an idempotent route, else null. */
    idempotencyKey: string | null
    /**
     * Remembers this request's response under its key, in the change's own transaction.
     * A no-op without a key. Call it last in the transaction, with what the route answers.
     */
    idempotent(tx: TransactionSql, statusCode: number, body: unknown): Promise<void>
  }
}

/** Printable ASCII without spaces, as the IETF draft and common APIs accept. */
const KEY = /^[\x21-\x7e]{1,255}$/
export const REPLAYED_HEADER = 'idempotent-replayed'

const IDEMPOTENCY_HEADERS = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Makes a retry safe: the same key with the same request within 24 hours replays the first response ' +
        '(header idempotent-replayed: true) instead of repeating the change. 1–255 printable ASCII characters.'
    })
  )
})

interface StoredResponse {
  fingerprint: string
  status_code: number
  response: unknown
}

function fingerprintOf(request: FastifyRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.method, request.routeOptions.url, request.params ?? null, request.body ?? null]))
    .digest('hex')
}

async function idempotencyPlugin(fastify: FastifyInstance) {
  fastify.decorateRequest('idempotencyKey', null)

  fastify.addHook('onRoute', function honourIdempotencyKey(route) {
    if (!route.config?.idempotent) return
    if (route.config.auth === 'public') throw new Error(`idempotent route ${route.url} must be authenticated`)
    const hooks = route.preHandler ? [route.preHandler].flat() : []
    route.preHandler = [...hooks, replayOrReserve] as RouteOptions['preHandler']
    // Documented in the OpenAPI document; checked (with its own error code) by replayOrReserve.
    if (route.schema) route.schema.headers ??= IDEMPOTENCY_HEADERS
  })

  // After authentication and validation: a replay is only ever shown to the key's owner.
  async function replayOrReserve(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers['idempotency-key']
    if (header === undefined) return
    if (typeof header !== 'string' || !KEY.test(header)) {
      return reply
        .code(400)
        .send(
          errorBody(
            400,
            'APP_ERR_INVALID_IDEMPOTENCY_KEY',
            'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces',
            request.id
          )
        )
    }
    const [stored] = await fastify.sql<StoredResponse[]>`
      select fingerprint, status_code, response
      from app.idempotency_keys
      where user_id = ${request.user?.id as string}
        and key = ${header}
    `
    if (!stored) {
      request.idempotencyKey = header
      return
    }
    if (stored.fingerprint !== fingerprintOf(request)) {
      return reply
        .code(422)
        .send(
          errorBody(
            422,
            'APP_ERR_IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used with a different request',
            request.id
          )
        )
    }
    // Audited as a replay: nothing changed, but the caller asked again.
    await request.audit(fastify.sql, {
      outcome: 'replayed',
      statusCode: stored.status_code,
      resourceId: (stored.response as { id?: string } | null)?.id ?? null,
      changes: { idempotencyKey: header }
    })
    return reply.code(stored.status_code).header(REPLAYED_HEADER, 'true').send(stored.response)
  }

  fastify.decorateRequest('idempotent', async function idempotent(this: FastifyRequest, tx, statusCode, body) {
    if (!this.idempotencyKey) return
    try {
      await tx`
        insert into app.idempotency_keys ${tx({
          user_id: this.user?.id as string,
          key: this.idempotencyKey,
          fingerprint: fingerprintOf(this),
          status_code: statusCode,
          response: body as never
        })}
      `
    } catch (err) {
      // A concurrent request with the same key committed first: this one rolls back entirely.
      if ((err as { code?: string }).code === '23505') {
        throw new Conflict('A request with this Idempotency-Key was processed concurrently; retry to get its response')
      }
      throw err
    }
  })
}

export default fp(idempotencyPlugin, { name: 'idempotency', dependencies: ['db', 'auth', 'audit'], fastify: '5.x' })
