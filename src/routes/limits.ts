import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimited } from '../errors.ts'

type LimitOptions = Parameters<FastifyInstance['createRateLimit']>[0]

/**
 * A limit a route counts itself (per email, per user, per address and day), beside the per-client
 * bucket: a preHandler answering 429 with Retry-After past it, counted with the other refusals.
 */
export function countedLimit(fastify: FastifyInstance, options: LimitOptions) {
  const limit = fastify.createRateLimit(options)
  return async function spendLimit(request: FastifyRequest) {
    const verdict = await limit(request)
    if (verdict.isAllowed || !verdict.isExceeded) return
    fastify.rateLimitRejections++
    throw RateLimited(verdict.ttlInSeconds)
  }
}
