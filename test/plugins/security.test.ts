import Fastify, { type InjectOptions } from 'fastify'
import t, { type Test } from 'tap'
import { Type } from 'typebox'
import securityPlugin, { SECURITY_HEADERS } from '../../plugins/security.ts'
import { ServiceUnavailable } from '../../src/errors.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'

t.test('the plugin refuses bad options', async (t) => {
  const app = Fastify()
  app.register(securityPlugin, { corsAllowedOrigins: 'http://x' as never })
  await t.rejects(async () => app.ready(), { message: /corsAllowedOrigins must be an array/ })
})

t.test('secure headers, CORS and strict input on the real app', async (t) => {
  const { url } = await createTestDatabase(t)
  const dbUrl = url
  const { app } = await buildTestApp(t, url, { API_BODY_LIMIT_BYTES: '2048', RATE_LIMIT_MAX_REQUESTS: '40' }, (app) => {
    app.get('/test/boom', { config: { auth: 'public', rateLimit: false } }, async () => {
      throw new Error('boom')
    })
    app.get('/test/out-of-range', { config: { auth: 'public', rateLimit: false } }, async () => {
      await app.sql`select ${'99999999999'}::int as n`
    })
    app.get('/test/unavailable', { config: { auth: 'public', rateLimit: false } }, async () => {
      throw new ServiceUnavailable('The database is unavailable')
    })
    app.post(
      '/test/body',
      {
        config: { auth: 'public', rateLimit: false, audit: { action: 'test.body', resourceType: 'test' } },
        schema: { body: Type.Object({ name: Type.String({ maxLength: 4000 }) }, { additionalProperties: false }) }
      },
      async () => {
        handlerCalls++
        return { ok: true }
      }
    )
  })
  let handlerCalls = 0

  const checkHeaders = (t: Test, res: { headers: Record<string, unknown> }, label: string) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) t.equal(res.headers[name], value, `${label}: ${name}`)
    t.notOk(res.headers['x-powered-by'], `${label}: no x-powered-by`)
  }

  t.test('secure headers are on every status', async (t) => {
    const statuses: [number, InjectOptions][] = [
      [200, { url: '/health/live' }],
      [400, { method: 'POST', url: '/test/body', payload: { nope: 1 } }],
      [401, { url: '/auth/me' }],
      [404, { url: '/nowhere' }],
      [413, { method: 'POST', url: '/test/body', payload: { name: 'x'.repeat(3000) } }],
      [500, { url: '/test/boom' }],
      [503, { url: '/test/unavailable' }]
    ]
    for (const [status, request] of statuses) {
      const res = await app.inject(request)
      t.equal(res.statusCode, status)
      checkHeaders(t, res, String(status))
    }
    const hsts = SECURITY_HEADERS['strict-transport-security']
    t.ok(Number(/max-age=(\d+)/.exec(hsts)?.[1]) >= 31536000 && hsts.includes('includeSubDomains'))
  })

  t.test('router refusals (an over-long path parameter, a malformed URL) keep the shape and headers', async (t) => {
    // Found by the schema fuzzer: Fastify answered these itself, without the app's headers or shape.
    for (const [url, status, code] of [
      [`/workspaces/${'9'.repeat(300)}`, 414, 'APP_ERR_URI_TOO_LONG'],
      ['/workspaces/%E0%A4%A', 400, 'APP_ERR_BAD_URL']
    ] as const) {
      const res = await app.inject({ url, headers: { 'x-request-id': 'router-1' } })
      t.equal(res.statusCode, status, url.slice(0, 30))
      t.match(res.json(), { statusCode: status, code, requestId: 'router-1' })
      t.notMatch(res.body, /9{50}/, 'the path is not echoed back')
      t.equal(res.headers['x-request-id'], 'router-1')
      checkHeaders(t, res, code)
    }
  })

  t.test('a number Postgres cannot hold is the client’s 400, not a 500', async (t) => {
    const res = await app.inject({ url: '/test/out-of-range' })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { code: 'APP_ERR_BAD_REQUEST', message: 'A number is out of range' })
  })

  t.test(
    'NUL characters and lone surrogates are a 400 before any work, and the refusal is counted, not written',
    async (t) => {
      // Found by the schema fuzzer: Postgres cannot store U+0000 (nor a lone surrogate in jsonb): 500s.
      const res = await app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'x-request-id': 'nul-1' },
        payload: { email: 'nul@example.com', password: 'x'.repeat(12), displayName: 'a\u0000b' }
      })
      t.equal(res.statusCode, 400)
      t.match(res.json(), { code: 'APP_ERR_INVALID_TEXT', requestId: 'nul-1' })
      const surrogate = await app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'content-type': 'application/json' },
        payload: '{"email":"s@example.com","password":"xxxxxxxxxxxx","displayName":"\\ud800"}'
      })
      t.equal(surrogate.statusCode, 400)
      t.equal(surrogate.json().code, 'APP_ERR_INVALID_TEXT')
      const known = await app.inject({ url: '/health/live?q=a%00b' })
      t.equal(known.statusCode, 400, 'a query string holding NUL is refused too')
      const sql = testSql(t, dbUrl)
      // Refused before the handler: it changed nothing, so it is a count (issue 31), not an audit row.
      await app.auditRefusals.flush()
      const [counted] = await sql`
        select sum(count)::int as n from app.audit_refusals where route = '/auth/register' and status = 400
      `
      t.ok(counted.n >= 2, 'both refusals counted')
      t.same(await sql`select 1 from app.audit_log where request_id = 'nul-1'`, [], 'no audit row')
      t.equal(await app.inject({ url: '/auth/me' }).then((r) => r.statusCode), 401)
    }
  )

  t.test('413 keeps the error shape', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/test/body', payload: { name: 'x'.repeat(3000) } })
    t.equal(res.statusCode, 413)
    t.match(res.json(), { statusCode: 413, code: 'APP_ERR_BODY_TOO_LARGE', error: 'Payload Too Large' })
  })

  t.test('CORS preflight for PATCH from both default origins', async (t) => {
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:3000']) {
      const res = await app.inject({
        method: 'OPTIONS',
        url: '/workspaces/123',
        headers: {
          origin,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization,content-type'
        }
      })
      t.equal(res.statusCode, 204, origin)
      t.equal(res.headers['access-control-allow-origin'], origin)
      t.match(res.headers['access-control-allow-methods'], /PATCH/)
      t.match(String(res.headers['access-control-allow-headers']).toLowerCase(), /authorization/)
      t.equal(res.headers['access-control-max-age'], '86400')
      t.match(res.headers.vary, /Origin/)
    }
    const simple = await app.inject({ url: '/health/live', headers: { origin: 'http://localhost:3000' } })
    t.equal(simple.headers['access-control-allow-origin'], 'http://localhost:3000')
    t.match(simple.headers['access-control-expose-headers'], /x-request-id/)
    t.match(simple.headers['access-control-expose-headers'], /retry-after/)
    for (const header of ['location', 'idempotent-replayed', 'content-disposition'])
      t.match(simple.headers['access-control-expose-headers'], header, `a browser client can read ${header}`)
  })

  t.test('a foreign origin and the null origin get no Access-Control-Allow-Origin', async (t) => {
    for (const origin of ['https://evil.example.com', 'null']) {
      const pre = await app.inject({
        method: 'OPTIONS',
        url: '/workspaces/123',
        headers: { origin, 'access-control-request-method': 'PATCH' }
      })
      t.notOk(pre.headers['access-control-allow-origin'], `preflight from ${origin}`)
      const res = await app.inject({ url: '/health/live', headers: { origin } })
      t.notOk(res.headers['access-control-allow-origin'], `request from ${origin}`)
    }
  })

  t.test('malformed JSON, odd content types and prototype poisoning never reach the handler', async (t) => {
    handlerCalls = 0
    const cases: [string, string, number][] = [
      ['application/json', '{"name": ', 400],
      ['application/json', '{"name":"a"} trailing', 400],
      ['Application/JSON', '{"name":"a"}', 415],
      ['application/jsonx', '{"name":"a"}', 415],
      ['application/json; charset=latin1', '{"name":"a"}', 415],
      ['text/plain', '{"name":"a"}', 415],
      ['application/x-www-form-urlencoded', 'name=a', 415],
      ['application/json', '{"name":"a","__proto__":{"admin":true}}', 400],
      ['application/json', '{"name":"a","constructor":{"prototype":{"admin":true}}}', 400],
      ['application/json', '{"name":"a","extra":true}', 400],
      ['application/json', '{"name":123}', 400],
      ['application/json', '[]', 400]
    ]
    for (const [type, payload, status] of cases) {
      const res = await app.inject({ method: 'POST', url: '/test/body', headers: { 'content-type': type }, payload })
      t.equal(res.statusCode, status, `${type} ${payload}`)
      t.match(res.json(), { statusCode: status, code: /^APP_ERR_/, requestId: String })
    }
    t.equal(handlerCalls, 0)
    const ok = await app.inject({
      method: 'POST',
      url: '/test/body',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: '{"name":"a"}'
    })
    t.equal(ok.statusCode, 200)
    t.equal(handlerCalls, 1, 'the well-formed request does reach it')
  })
})
