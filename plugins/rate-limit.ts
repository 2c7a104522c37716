import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { clientKey } from '../src/client-address.ts'
import { errorBody } from '../src/errors.ts'

export interface RateLimitPluginOptions {
  windowMs: number
  max: number
  redisUrl?: string
  /** Namespaces the counters when several deployments (or test runs) share one Redis. */
  keyPrefix?: string
}

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void

const INCR_LUA = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}
`

/** Fixed-window counters in this process: the store when Redis is absent, and the fallback when it fails. */
export class MemoryCounters {
  private readonly counters = new Map<string, { count: number; resetAt: number }>()
  private readonly maxKeys: number
  constructor(maxKeys = 50_000) {
    this.maxKeys = maxKeys
  }

  incr(key: string, windowMs: number): { current: number; ttl: number } {
    const now = Date.now()
    let entry = this.counters.get(key)
    if (!entry || entry.resetAt <= now) {
      this.counters.delete(key)
      if (this.counters.size >= this.maxKeys) {
        // Evict the oldest key (Map keeps insertion order).
        const oldest = this.counters.keys().next().value
        if (oldest !== undefined) this.counters.delete(oldest)
      }
      entry = { count: 0, resetAt: now + windowMs }
      this.counters.set(key, entry)
    }
    entry.count++
    return { current: entry.count, ttl: entry.resetAt - now }
  }
}

/**
 * A rate-limit store over Redis that never fails open: when Redis errors or is not ready,
 * counting goes on in memory for this instance. Routes with a groupId share one bucket.
 */
export function createStoreClass(
  redis: Redis | null,
  memory: MemoryCounters,
  keyPrefix: string,
  onFallback: (err: Error) => void
) {
  return class FallbackStore {
    private readonly namespace: string
    constructor(_options?: unknown, namespace = 'global') {
      this.namespace = namespace
    }

    incr(key: string, cb: Callback, timeWindow: number): void {
      const fullKey = `${keyPrefix}rl:${this.namespace}:${key}`
      if (redis?.status !== 'ready') {
        cb(null, memory.incr(fullKey, timeWindow))
        return
      }
      ;(redis.eval(INCR_LUA, 1, fullKey, timeWindow) as Promise<[number, number]>).then(
        ([current, ttl]) => cb(null, { current, ttl }),
        (err: Error) => {
          onFallback(err)
          cb(null, memory.incr(fullKey, timeWindow))
        }
      )
    }

    child(routeOptions: { groupId?: string; routeInfo: { method?: string | string[]; url?: string } }) {
      const namespace = routeOptions.groupId ?? `${routeOptions.routeInfo.method}:${routeOptions.routeInfo.url}`
      return new FallbackStore(undefined, namespace)
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimitRejections: number
  }
}

async function rateLimitPlugin(fastify: FastifyInstance, opts: RateLimitPluginOptions) {
  if (!(opts.windowMs > 0) || !(opts.max > 0)) throw new Error('rate-limit plugin: windowMs and max must be positive')
  let redis: Redis | null = null
  // One warning per 10 s at most: a Redis outage must not flood the logs.
  let lastFallbackLog = 0
  const warnFallback = (err: Error, msg: string) => {
    if (Date.now() - lastFallbackLog < 10_000) return
    lastFallbackLog = Date.now()
    fastify.log.warn({ err: { message: err.message } }, msg)
  }
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, {
      // Fail fast: a command never waits for a reconnect, the memory fallback answers instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      connectTimeout: 2000,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2000)
    })
    redis.on('error', (err) => warnFallback(err, 'redis unavailable: rate limits counted in memory per instance'))
    fastify.redisStatus = () => (redis?.status === 'ready' ? 'connected' : 'degraded')
    fastify.addHook('onClose', async function closeRedis() {
      redis?.disconnect()
    })
  }
  const memory = new MemoryCounters()
  const Store = createStoreClass(redis, memory, opts.keyPrefix ?? 'sdc:', (err) =>
    warnFallback(err, 'redis rate-limit command failed: counted in memory')
  )

  fastify.decorate('rateLimitRejections', 0)
  await fastify.register(rateLimit, {
    global: true,
    max: opts.max,
    timeWindow: opts.windowMs,
    store: Store as never,
    // request.ip honours X-Forwarded-For only from TRUST_PROXY addresses; an IPv6 client is its /64.
    keyGenerator: (request) => clientKey(request.ip),
    skipOnError: false,
    errorResponseBuilder: (request, context) => {
      fastify.rateLimitRejections++
      return Object.assign(
        new Error(`Rate limit exceeded, retry in ${context.after}`),
        errorBody(429, 'APP_ERR_RATE_LIMITED', `Rate limit exceeded, retry in ${context.after}`, request.id)
      )
    }
  })
}

export default fp(rateLimitPlugin, { name: 'rate-limit', fastify: '5.x' })
