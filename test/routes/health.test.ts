import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { TcpProxy } from '../helpers/proxy.ts'

t.test('liveness, readiness and the combined health document', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)

  const live = await app.inject({ url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.match(live.json(), { status: 'alive', timestamp: String, uptime: Number })

  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', checks: { database: 'connected', queue: 'ready' } })
  t.equal(ready.headers['cache-control'], 'no-store')

  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  const body = health.json()
  t.match(body, { status: 'ok', version: /^\d+\.\d+\.\d+/, checks: { database: 'connected' } })
  t.ok(body.pool.max >= 1, 'pool figures are reported')
  t.ok(body.pool.open >= 1)
  t.ok(
    body.queues.some((q: { name: string }) => q.name === 'maintenance'),
    'queue figures are reported'
  )
})

t.test(
  'without details (production’s default) /health says only whether the service is up; no /openapi.json',
  async (t) => {
    const { url } = await createTestDatabase(t)
    const { app } = await buildTestApp(t, url, { HEALTH_DETAILS: 'false', OPENAPI_PUBLIC: 'false' })
    const health = await app.inject({ url: '/health' })
    t.equal(health.statusCode, 200)
    t.same(Object.keys(health.json()).sort(), ['status', 'timestamp'])
    t.equal(health.json().status, 'ok')
    t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200, 'readiness is unchanged')
    t.equal((await app.inject({ url: '/openapi.json' })).statusCode, 404, 'the API document is not served')
  }
)

t.test('readiness is 503 while migrations are pending', async (t) => {
  const { url, ownerUrl } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)
  // As the owner: the app's role may read which migrations ran, never record or forget one.
  await testSql(t, ownerUrl)`delete from app.schema_migrations where version = 1`
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'not_ready', reason: 'database_migrations_pending' })
})

t.test('readiness turns 503 when the database is unreachable and 200 when it returns', async (t) => {
  const { url } = await createTestDatabase(t)
  const proxy = new TcpProxy(url)
  await proxy.start()
  t.teardown(() => proxy.stop())
  const { app } = await buildTestApp(t, proxy.urlFor(url), { DATABASE_CONNECT_TIMEOUT_SECONDS: '1' })
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)

  await proxy.stop()
  const down = await app.inject({ url: '/health/ready' })
  t.equal(down.statusCode, 503)
  t.match(down.json(), {
    status: 'not_ready',
    reason: 'database_unreachable',
    checks: { database: 'unreachable', queue: 'unavailable' }
  })
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 503)
  t.match(health.json(), { status: 'degraded', pool: null })

  await proxy.start()
  const back = await waitFor(
    async () => {
      const res = await app.inject({ url: '/health/ready' })
      return res.statusCode === 200 ? res : null
    },
    { what: 'readiness 200 after the database returned' }
  )
  t.match(back.json(), { status: 'ready' })
})

t.test('a hanging database (a partition) gets 503s in the right shapes, never a 500 or a hang', async (t) => {
  const { url } = await createTestDatabase(t)
  const proxy = new TcpProxy(url)
  await proxy.start()
  t.teardown(() => proxy.stop())
  // A handler timeout shorter than readiness's own: the probe must still answer in its shape.
  const { app, logs } = await buildTestApp(t, proxy.urlFor(url), { HANDLER_TIMEOUT_MS: '500' })
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
  proxy.blackhole()
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'not_ready', reason: 'database_unreachable' })
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 503)
  const started = Date.now()
  const api = await app.inject({ url: '/workspaces', headers: { authorization: 'Bearer x' } })
  t.equal(api.statusCode, 401, 'a request that needs no database still answers')
  const audited = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: 'a@example.com', password: 'x'.repeat(12) }
  })
  t.equal(audited.statusCode, 503)
  t.match(audited.json(), { code: 'APP_ERR_TIMEOUT', requestId: String })
  // Over a real socket too: a request whose body has been read is a destroyed stream, and must
  // still get its 503 (the deadline once took that for a client that went away).
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const overHttp = await fetch(`${address}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(12) })
  })
  t.equal(overHttp.status, 503)
  t.match(await overHttp.json(), { code: 'APP_ERR_TIMEOUT', requestId: String })
  t.ok(Date.now() - started < 5000, 'answered within the handler timeout, not after the partition')
  // A client that goes away before its deadline is forgotten, not answered: no timeout is logged.
  const timedOut = () => logs.lines.filter((l) => l.msg === 'handler timed out').length
  const before = timedOut()
  const gone = new AbortController()
  const abandoned = fetch(`${address}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'b@example.com', password: 'x'.repeat(12) }),
    signal: gone.signal
  }).catch(() => null)
  await new Promise((resolve) => setTimeout(resolve, 150))
  gone.abort()
  await abandoned
  // Past its deadline (500 ms) and a sweep: had it been kept, the sweep would have answered it.
  await new Promise((resolve) => setTimeout(resolve, 900))
  t.equal(timedOut(), before, 'the abandoned request was dropped, not timed out')
  proxy.heal()
  await waitFor(async () => (await app.inject({ url: '/health/ready' })).statusCode === 200, { what: 'recovery' })
})
