import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { addressMatcher } from '../src/client-address.ts'
import { databaseReadiness, READINESS_TIMEOUT_MS } from '../src/db/readiness.ts'
import { Forbidden } from '../src/errors.ts'
import { type QueueWaits, queueGroups, queueWaits15m } from '../src/queue/statements.ts'

export interface MetricsPluginOptions {
  guard: 'secret' | 'cidr' | undefined
  secret?: string
  allowlist?: readonly string[]
  /** The migrations this build has: `sdc_ready` is 0 until all are applied. */
  expectedMigrations: number
}

const UNMATCHED = '__unmatched__'

/** Prometheus metrics; `/metrics` is registered only when enabled, behind its guard. */
async function metricsPlugin(fastify: FastifyInstance, opts: MetricsPluginOptions) {
  if (opts.guard === 'secret' && !(opts.secret && opts.secret.length >= 16)) {
    throw new Error('metrics plugin: guard "secret" needs a secret of at least 16 characters')
  }
  if (opts.guard === 'cidr' && !opts.allowlist?.length)
    throw new Error('metrics plugin: guard "cidr" needs an allowlist')

  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'sdc_' })
  const duration = new Histogram({
    name: 'sdc_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10],
    registers: [registry]
  })
  const inFlight = new Gauge({
    name: 'sdc_http_requests_in_flight',
    help: 'Requests being served',
    registers: [registry]
  })

  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      }
    })
  gauge(
    'sdc_telemetry_buffer_rows',
    'Request telemetry rows waiting to be written',
    () => fastify.telemetry.stats().buffered
  )
  // Counters kept elsewhere (plain numbers on the app), copied in at scrape time.
  const counterFrom = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read())
      }
    })
  counterFrom(
    'sdc_telemetry_dropped_rows_total',
    'Request telemetry rows dropped (buffer full or database down)',
    () => fastify.telemetry.stats().dropped
  )
  counterFrom('sdc_rate_limit_rejections_total', 'Requests refused with 429', () => fastify.rateLimitRejections)
  counterFrom(
    'sdc_login_lockouts_total',
    'Emails locked after repeated failures',
    () => fastify.securityCounters.lockouts
  )
  counterFrom(
    'sdc_refresh_token_reuse_total',
    'Rotated refresh tokens presented again',
    () => fastify.securityCounters.refreshReuse
  )
  gauge('sdc_db_pool_max', 'Postgres pool size', () => fastify.sql.options.max)
  new Counter({
    name: 'sdc_audit_refusals_total',
    help: 'Refusals on audited routes (and unknown URLs) counted instead of written as audit rows, by route template and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const { route, status, count } of fastify.auditRefusals.totals()) this.inc({ route, status }, count)
    }
  })
  gauge('sdc_preview_threads', 'Engine threads for previews', () => fastify.previews.stats().threads)
  gauge('sdc_preview_threads_busy', 'Preview threads computing a preview', () => fastify.previews.stats().busy)
  gauge('sdc_preview_queued', 'Previews waiting for a thread', () => fastify.previews.stats().queued)
  counterFrom('sdc_previews_total', 'Previews answered with figures', () => fastify.previews.stats().served)
  new Counter({
    name: 'sdc_preview_refusals_total',
    help: 'Previews refused: too_large (422, past the budget) or busy (503, every thread busy past the wait)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(fastify.previews.stats().refused)) this.inc({ reason }, n)
    }
  })
  counterFrom(
    'sdc_preview_queue_wait_seconds_sum',
    'Seconds previews waited for a thread, summed',
    () => fastify.previews.stats().waitSeconds.sum
  )
  counterFrom(
    'sdc_preview_queue_wait_seconds_count',
    'Previews handed to a thread',
    () => fastify.previews.stats().waitSeconds.count
  )

  // What /health/ready answers, as a number: the ReadinessDown alert reads it.
  const checkDatabase = databaseReadiness(fastify.sql, opts.expectedMigrations, READINESS_TIMEOUT_MS)
  new Gauge({
    name: 'sdc_ready',
    help: '1 when the api is ready (database reachable, migrations applied, not draining), else 0',
    registers: [registry],
    async collect() {
      this.set(!fastify.lifecycle.draining && (await checkDatabase()) === 'connected' ? 1 : 0)
    }
  })
  new Gauge({
    name: 'sdc_audit_unsealed_oldest_seconds',
    help: 'Age of the oldest audit row not yet sealed into the hash chain (0 when all are sealed)',
    registers: [registry],
    async collect() {
      const [row] = await fastify.sql<{ age: number }[]>`
        select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
        from app.audit_log
        where chain_seq is null
      `.catch(() => [{ age: Number.NaN }])
      this.set(row.age)
    }
  })

  new Gauge({
    name: 'sdc_queue_jobs',
    help: 'pg-boss jobs by queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const queues = await fastify.boss.getQueues().catch(() => [])
      this.reset()
      for (const q of queues) {
        if (q.name.startsWith('__')) continue
        this.set({ queue: q.name, state: 'queued' }, q.queuedCount)
        this.set({ queue: q.name, state: 'active' }, q.activeCount)
        this.set({ queue: q.name, state: 'failed' }, q.failedCount)
      }
    }
  })
  new Gauge({
    name: 'sdc_job_events_15m',
    help: 'Job lifecycle events in the last 15 minutes by queue and event',
    labelNames: ['queue', 'event'] as const,
    registers: [registry],
    async collect() {
      const rows = await fastify.sql<{ queue: string; event: string; n: number }[]>`
        select queue, event, count(*)::int as n
        from app.job_telemetry
        where created_at > now() - interval '15 minutes'
        group by queue, event
      `.catch(() => [])
      this.reset()
      for (const r of rows) this.set({ queue: r.queue, event: r.event }, r.n)
    }
  })
  new Gauge({
    name: 'sdc_job_duration_p95_seconds_15m',
    help: 'p95 job duration in the last 15 minutes by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const rows = await fastify.sql<{ queue: string; p95: number }[]>`
        select queue, percentile_cont(0.95) within group (order by duration_ms) / 1000 as p95
        from app.job_telemetry
        where created_at > now() - interval '15 minutes'
          and duration_ms is not null
        group by queue
      `.catch(() => [])
      this.reset()
      for (const r of rows) this.set({ queue: r.queue }, r.p95)
    }
  })

  // Queue wait (enqueued → started) as a histogram of the last 15 minutes, rebuilt from job
  // telemetry at each scrape: `histogram_quantile(0.95, sdc_queue_wait_seconds_15m_bucket)`.
  const waitBounds = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
  // One query a scrape: the three series' collects run at once and share it.
  let reading: Promise<QueueWaits[]> | null = null
  const waits = () =>
    (reading ??= queueWaits15m(fastify.sql, waitBounds)
      .catch(() => [])
      .finally(() => {
        reading = null
      }))
  const waitGauge = (suffix: string, help: string, labels: string[], set: (g: Gauge, w: QueueWaits) => void) =>
    new Gauge({
      name: `sdc_queue_wait_seconds_15m${suffix}`,
      help,
      labelNames: labels,
      registers: [registry],
      async collect() {
        const all = await waits()
        this.reset()
        for (const w of all) set(this, w)
      }
    })
  waitGauge(
    '_bucket',
    'First attempts started in the last 15 minutes that waited in their queue at most `le` seconds',
    ['queue', 'le'],
    (g, w) => {
      let total = 0
      for (const [i, n] of w.buckets.entries()) {
        total += n
        g.set({ queue: w.queue, le: i < waitBounds.length ? String(waitBounds[i]) : '+Inf' }, total)
      }
    }
  )
  waitGauge('_sum', 'Seconds those jobs waited in their queue, summed', ['queue'], (g, w) =>
    g.set({ queue: w.queue }, w.sum)
  )
  waitGauge('_count', 'First attempts started in the last 15 minutes', ['queue'], (g, w) =>
    g.set({ queue: w.queue }, w.count)
  )
  // The groups (users, on the simulation queue) in a queue, never a group's id: bounded labels.
  new Gauge({
    name: 'sdc_queue_groups',
    help: 'Groups with a job running (active) or with jobs waiting and none running (waiting), by queue',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const rows = await queueGroups(fastify.sql, fastify.queueNames).catch(() => [])
      this.reset()
      for (const r of rows) {
        this.set({ queue: r.queue, state: 'active' }, r.active)
        this.set({ queue: r.queue, state: 'waiting' }, r.waiting)
      }
    }
  })

  fastify.addHook('onRequest', function countInFlight(_request: FastifyRequest, _reply: FastifyReply, done) {
    inFlight.inc()
    done()
  })
  fastify.addHook('onResponse', function observe(request: FastifyRequest, reply: FastifyReply, done) {
    inFlight.dec()
    // Only route templates become labels: unknown URLs share one series.
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED,
        status_class: `${Math.floor(reply.statusCode / 100)}xx`
      },
      reply.elapsedTime / 1000
    )
    done()
  })

  const secret = opts.secret ? Buffer.from(opts.secret) : null
  const trusted = addressMatcher(opts.allowlist ?? [])
  function allowed(request: FastifyRequest): boolean {
    if (opts.guard === 'secret') {
      // In X-Metrics-Secret, or as a bearer token (what Prometheus's `authorization` block sends).
      const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
      const given = Buffer.from(String(request.headers['x-metrics-secret'] ?? bearer ?? ''))
      return secret !== null && given.length === secret.length && timingSafeEqual(given, secret)
    }
    if (opts.guard === 'cidr') {
      // request.ip already honours X-Forwarded-For from TRUST_PROXY hops only.
      return trusted(request.ip)
    }
    return true
  }

  fastify.get('/metrics', { config: { auth: 'public', rateLimit: false } }, async function metrics(request, reply) {
    if (!allowed(request)) throw new Forbidden('Metrics are not available to this client')
    reply.header('content-type', registry.contentType)
    reply.header('cache-control', 'no-store')
    return registry.metrics()
  })
}

export default fp(metricsPlugin, {
  name: 'metrics',
  dependencies: ['db', 'queue', 'telemetry', 'rate-limit', 'lifecycle', 'audit', 'engine'],
  fastify: '5.x'
})
