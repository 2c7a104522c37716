import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { poolStats } from '../../db/client.ts'
import { databaseReadiness, READINESS_TIMEOUT_MS } from '../../db/readiness.ts'
import { ErrorResponse } from '../../schemas.ts'
import { Health, Ready } from './schemas.ts'

/**
 * Health probes answer in their own shape, even when the database hangs: their handler timeout
 * outlasts the readiness timeout, so the handler timeout's 503 (the error shape) never races
 * their own answer (it did, and serialised as a 500 before their 503 schema allowed both).
 */
const PROBE_HANDLER_TIMEOUT_MS = READINESS_TIMEOUT_MS + 4000

type CheckResult = {
  ready: boolean
  reason?: string
  checks: {
    database: 'connected' | 'unreachable' | 'migrations_pending'
    queue: 'ready' | 'unavailable'
    redis?: 'connected' | 'degraded'
  }
}

const healthRoutes: FastifyPluginAsyncTypebox<{
  expectedMigrations: number
  version: string
  details: boolean
}> = async (fastify, opts) => {
  const checkDatabase = databaseReadiness(fastify.sql, opts.expectedMigrations, READINESS_TIMEOUT_MS)

  /** Database reachable (short timeout), migrations applied, not shutting down. */
  async function check(): Promise<CheckResult> {
    const database = await checkDatabase()
    // The queues live in the same database: they are usable exactly when it is.
    const checks: CheckResult['checks'] = { database, queue: database === 'connected' ? 'ready' : 'unavailable' }
    if (fastify.redisStatus) checks.redis = fastify.redisStatus()
    if (fastify.lifecycle.draining) return { ready: false, reason: 'shutting_down', checks }
    if (database !== 'connected') return { ready: false, reason: `database_${database}`, checks }
    return { ready: true, checks }
  }

  fastify.get(
    '/health/live',
    {
      config: { auth: 'public', rateLimit: false },
      schema: {
        tags: ['health'],
        response: {
          200: Type.Object(
            { status: Type.Literal('alive'), timestamp: Type.String(), uptime: Type.Number() },
            { additionalProperties: false }
          )
        }
      }
    },
    async () => ({ status: 'alive' as const, timestamp: new Date().toISOString(), uptime: process.uptime() })
  )

  fastify.get(
    '/health/ready',
    {
      config: {
        auth: 'public',
        rateLimit: false,
        handlerTimeoutMs: Math.max(fastify.config.handlerTimeoutMs, PROBE_HANDLER_TIMEOUT_MS)
      },
      schema: { tags: ['health'], response: { 200: Ready, 503: Type.Union([Ready, ErrorResponse]) } }
    },
    async (_request, reply) => {
      const result = await check()
      const body = {
        status: result.ready ? ('ready' as const) : ('not_ready' as const),
        timestamp: new Date().toISOString(),
        ...(result.reason ? { reason: result.reason } : {}),
        checks: result.checks
      }
      reply.header('cache-control', 'no-store')
      return reply.code(result.ready ? 200 : 503).send(body)
    }
  )

  fastify.get(
    '/health',
    {
      config: {
        auth: 'public',
        rateLimit: false,
        handlerTimeoutMs: Math.max(fastify.config.handlerTimeoutMs, PROBE_HANDLER_TIMEOUT_MS)
      },
      // A 503 may also be the error shape: the handler timeout, or the service closing.
      schema: { tags: ['health'], response: { 200: Health, 503: Type.Union([Health, ErrorResponse]) } }
    },
    async (_request, reply) => {
      const result = await check()
      reply.header('cache-control', 'no-store')
      const status = result.ready ? ('ok' as const) : ('degraded' as const)
      // A public, unlimited route: without details it tells an outsider only whether the service is up.
      if (!opts.details)
        return reply.code(result.ready ? 200 : 503).send({ status, timestamp: new Date().toISOString() })
      const [pool, queues] = await Promise.all([
        result.checks.database === 'unreachable' ? null : poolStats(fastify.sql).catch(() => null),
        result.checks.database === 'unreachable' ? [] : fastify.boss.getQueues().catch(() => [])
      ])
      return reply.code(result.ready ? 200 : 503).send({
        status,
        version: opts.version,
        uptime: process.uptime(),
        timestamp: new Date().toISOString(),
        checks: result.checks,
        pool,
        queues: queues.map((q) => ({
          name: q.name,
          queued: q.queuedCount,
          active: q.activeCount,
          failed: q.failedCount,
          total: q.totalCount
        }))
      })
    }
  )
}

export default healthRoutes
