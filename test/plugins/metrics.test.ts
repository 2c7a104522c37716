import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'

const SECRET = 'metrics-secret-0123456789abcdef'

t.test('metrics', async (t) => {
  const { url } = await createTestDatabase(t)

  t.test('/metrics does not exist unless enabled', async (t) => {
    const { app } = await buildTestApp(t, url)
    t.equal((await app.inject({ url: '/metrics' })).statusCode, 404)
  })

  t.test('the secret guard: right, wrong, missing', async (t) => {
    const { app } = await buildTestApp(t, url, {
      METRICS_ENABLED: 'true',
      METRICS_GUARD: 'secret',
      METRICS_GUARD_SECRET: SECRET
    })
    const right = await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': SECRET } })
    t.equal(right.statusCode, 200)
    t.match(right.headers['content-type'], /text\/plain/)
    for (const name of [
      'sdc_http_request_duration_seconds',
      'sdc_http_requests_in_flight',
      'sdc_queue_jobs',
      'sdc_job_events_15m',
      'sdc_telemetry_buffer_rows',
      'sdc_telemetry_dropped_rows_total',
      'sdc_rate_limit_rejections_total',
      'sdc_login_lockouts_total',
      'sdc_refresh_token_reuse_total',
      'sdc_db_pool_max',
      'sdc_process_cpu_seconds_total'
    ]) {
      t.match(right.body, new RegExp(`^# TYPE ${name} `, 'm'), name)
    }
    const wrong = await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': `${SECRET.slice(0, -1)}x` } })
    t.equal(wrong.statusCode, 403)
    t.equal(wrong.json().code, 'APP_ERR_FORBIDDEN')
    t.equal((await app.inject({ url: '/metrics' })).statusCode, 403)
    // As a bearer token, the way Prometheus's `authorization` block sends it.
    const bearer = (token: string) => app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    t.equal((await bearer(SECRET)).statusCode, 200, 'the secret as a bearer token')
    t.equal((await bearer(`${SECRET.slice(0, -1)}x`)).statusCode, 403, 'a wrong bearer token is refused')
  })

  t.test('the CIDR guard honours TRUST_PROXY only', async (t) => {
    const { app } = await buildTestApp(t, url, {
      METRICS_ENABLED: 'true',
      METRICS_GUARD: 'cidr',
      METRICS_GUARD_ALLOWLIST: '10.0.0.0/8'
    })
    const inside = await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })
    t.equal(inside.statusCode, 200)
    const outside = await app.inject({ url: '/metrics', remoteAddress: '192.0.2.1' })
    t.equal(outside.statusCode, 403)
    const spoofed = await app.inject({
      url: '/metrics',
      remoteAddress: '192.0.2.1',
      headers: { 'x-forwarded-for': '10.1.2.3' }
    })
    t.equal(spoofed.statusCode, 403, 'X-Forwarded-For from an untrusted peer is ignored')

    const { app: proxied } = await buildTestApp(t, url, {
      METRICS_ENABLED: 'true',
      METRICS_GUARD: 'cidr',
      METRICS_GUARD_ALLOWLIST: '10.0.0.0/8',
      TRUST_PROXY: '192.0.2.1/32'
    })
    const viaProxy = await proxied.inject({
      url: '/metrics',
      remoteAddress: '192.0.2.1',
      headers: { 'x-forwarded-for': '10.1.2.3' }
    })
    t.equal(viaProxy.statusCode, 200, 'through a trusted proxy the client address counts')
  })

  t.test('random URLs create no new series', async (t) => {
    const { app } = await buildTestApp(t, url, {
      METRICS_ENABLED: 'true',
      METRICS_GUARD: 'secret',
      METRICS_GUARD_SECRET: SECRET,
      RATE_LIMIT_MAX_REQUESTS: '100000'
    })
    const scrape = async () => (await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': SECRET } })).body
    const series = (body: string) =>
      body.split('\n').filter((l) => l.startsWith('sdc_http_request_duration_seconds_count'))
    await app.inject({ url: '/nowhere/first' })
    await scrape() // the scrape's own series exists from the second scrape on
    const before = series(await scrape())
    for (let i = 0; i < 50; i++) await app.inject({ url: `/random/${Math.random().toString(36).slice(2)}` })
    const after = series(await scrape())
    t.equal(after.length, before.length, 'no new series')
    t.ok(after.some((l) => l.includes('route="__unmatched__"')))
    t.notOk(after.some((l) => l.includes('/random/')))
  })
})
