import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import rateLimitPlugin, { MemoryCounters } from '../../plugins/rate-limit.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, waitFor } from '../helpers/db.ts'
import { TcpProxy } from '../helpers/proxy.ts'

const REDIS_URL = 'redis://127.0.0.1:6379'

t.test('the plugin refuses bad options', async (t) => {
  const app = Fastify()
  app.register(rateLimitPlugin, { windowMs: 0, max: 5 })
  await t.rejects(async () => app.ready(), { message: /windowMs and max must be positive/ })
})

t.test('memory counters use fixed windows and stay bounded', async (t) => {
  const counters = new MemoryCounters(3)
  t.equal(counters.incr('a', 60_000).current, 1)
  t.equal(counters.incr('a', 60_000).current, 2)
  for (const key of ['b', 'c', 'd']) counters.incr(key, 60_000)
  t.equal(counters.incr('a', 60_000).current, 1, 'the oldest key was evicted at the bound')
})

t.test('rate limits', async (t) => {
  const { url } = await createTestDatabase(t)
  const prefix = () => `sdc-test-${randomBytes(4).toString('hex')}:`

  t.test('the global limit counts 404s, answers 429 in the error shape, and spares health probes', async (t) => {
    const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '3' })
    for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: `/nowhere/${i}` })).statusCode, 404)
    const limited = await app.inject({ url: '/nowhere/again', headers: { 'x-request-id': 'rl-1' } })
    t.equal(limited.statusCode, 429)
    t.match(limited.json(), { statusCode: 429, code: 'APP_ERR_RATE_LIMITED', requestId: 'rl-1' })
    t.equal(limited.headers['x-ratelimit-limit'], '3')
    t.equal(limited.headers['x-ratelimit-remaining'], '0')
    t.ok(Number(limited.headers['retry-after']) > 0)
    t.equal(limited.headers['x-frame-options'], 'DENY', 'secure headers on 429 too')
    for (let i = 0; i < 10; i++) t.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
    t.equal(app.rateLimitRejections, 1)
  })

  t.test('all /auth/* routes share one bucket', async (t) => {
    const { app } = await buildTestApp(t, url, { AUTH_RATE_LIMIT_MAX_REQUESTS: '3', RATE_LIMIT_MAX_REQUESTS: '100' })
    const calls = [
      { method: 'POST' as const, url: '/auth/register', payload: {} },
      { method: 'POST' as const, url: '/auth/refresh', payload: {} },
      { method: 'POST' as const, url: '/auth/logout', payload: {} }
    ]
    for (const call of calls) t.equal((await app.inject(call)).statusCode, 400)
    // A login is counted once its body names the account (a known device has a bucket of its own).
    const login = { email: 'someone@example.com', password: 'a password long enough' }
    t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: login })).statusCode, 429)
    t.equal((await app.inject({ url: '/auth/me' })).statusCode, 429, '/auth/me is in the bucket too')
    t.equal((await app.inject({ url: '/nowhere' })).statusCode, 404, 'other routes keep their own budget')
  })

  t.test('an IPv6 client rotating addresses within its /64 stays in one bucket', async (t) => {
    const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '3' })
    const from = (remoteAddress: string) => app.inject({ url: '/nowhere', remoteAddress })
    for (let i = 1; i <= 3; i++) t.equal((await from(`2001:db8:5:6::${i}`)).statusCode, 404)
    t.equal((await from('2001:db8:5:6:aaaa::1')).statusCode, 429, 'another address of the /64 is limited')
    t.equal((await from('2001:db8:5:7::1')).statusCode, 404, 'the next /64 is another client')
  })

  t.test('a client rotating X-Forwarded-For stays in one bucket', async (t) => {
    const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '3' })
    const statuses = []
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await app.inject({ url: '/nowhere', headers: { 'x-forwarded-for': `203.0.113.${i}` } })).statusCode
      )
    }
    t.same(statuses, [404, 404, 404, 429, 429])
  })

  t.test('behind a trusted proxy each client gets its own bucket, and spoofed hops are ignored', async (t) => {
    const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '2', TRUST_PROXY: '127.0.0.1/32' })
    const from = (xff: string) => app.inject({ url: '/nowhere', headers: { 'x-forwarded-for': xff } })
    t.equal((await from('198.51.100.1')).statusCode, 404)
    t.equal((await from('198.51.100.1')).statusCode, 404)
    t.equal((await from('198.51.100.1')).statusCode, 429)
    t.equal((await from('198.51.100.2')).statusCode, 404, 'another client has its own budget')
    // The client prepends a fake hop; the proxy appends the real address, which is what counts.
    t.equal((await from('10.9.9.9, 198.51.100.1')).statusCode, 429)
    const untrusted = await app.inject({
      url: '/nowhere',
      remoteAddress: '192.0.2.7',
      headers: { 'x-forwarded-for': '198.51.100.9' }
    })
    t.equal(untrusted.statusCode, 404)
    const again = await app.inject({
      url: '/nowhere',
      remoteAddress: '192.0.2.7',
      headers: { 'x-forwarded-for': '198.51.100.10' }
    })
    t.equal(again.statusCode, 404)
    const third = await app.inject({
      url: '/nowhere',
      remoteAddress: '192.0.2.7',
      headers: { 'x-forwarded-for': '198.51.100.11' }
    })
    t.equal(third.statusCode, 429, 'an untrusted peer is limited by its own address whatever it claims')
  })

  t.test('two instances sharing Redis hold the limit in total', async (t) => {
    const env = { RATE_LIMIT_MAX_REQUESTS: '4', REDIS_URL, REDIS_KEY_PREFIX: prefix() }
    const { app: a } = await buildTestApp(t, url, env)
    const { app: b } = await buildTestApp(t, url, env)
    await waitFor(async () => (await a.inject({ url: '/health/ready' })).json().checks.redis === 'connected')
    await waitFor(async () => (await b.inject({ url: '/health/ready' })).json().checks.redis === 'connected')
    const statuses = []
    for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? b : a).inject({ url: '/nowhere' })).statusCode)
    t.same(statuses, [404, 404, 404, 404, 429, 429])
  })

  t.test('Redis down: limiting goes on in memory, readiness says degraded, and it recovers', async (t) => {
    const proxy = new TcpProxy(REDIS_URL)
    await proxy.start()
    t.teardown(() => proxy.stop())
    const keyPrefix = prefix()
    const { app } = await buildTestApp(t, url, {
      RATE_LIMIT_MAX_REQUESTS: '3',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_KEY_PREFIX: keyPrefix
    })
    await waitFor(async () => (await app.inject({ url: '/health/ready' })).json().checks.redis === 'connected')
    t.equal((await app.inject({ url: '/nowhere' })).statusCode, 404)

    await proxy.stop()
    const ready = await waitFor(async () => {
      const res = await app.inject({ url: '/health/ready' })
      return res.json().checks.redis === 'degraded' ? res : null
    })
    t.equal(ready.statusCode, 200, 'degraded Redis does not take the instance out of rotation')
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await app.inject({ url: '/nowhere' })).statusCode)
    t.same(statuses, [404, 404, 404, 429], 'never fails open, never 500')

    await proxy.start()
    await waitFor(async () => (await app.inject({ url: '/health/ready' })).json().checks.redis === 'connected', {
      what: 'redis to reconnect'
    })
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.disconnect())
    await app.inject({ url: '/health/../nowhere-after' })
    const keys = await redis.keys(`${keyPrefix}*`)
    t.ok(keys.length > 0, 'counting is back in Redis')
  })
})
