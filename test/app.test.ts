import t from 'tap'
import { Type } from 'typebox'
import { uuidv7Time } from '../src/ids.ts'
import { buildTestApp } from './helpers/app.ts'
import { createTestDatabase } from './helpers/db.ts'

const ERROR_KEYS = ['code', 'error', 'message', 'requestId', 'statusCode']

t.test('request ids and error shape', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app, logs } = await buildTestApp(t, url, {}, (app) => {
    app.post(
      '/test/echo',
      {
        config: { auth: 'public', audit: { action: 'test.echo', resourceType: 'test' } },
        schema: { body: Type.Object({ name: Type.String({ maxLength: 10 }) }, { additionalProperties: false }) }
      },
      async (request) => request.body
    )
    app.post(
      '/test/choice',
      {
        config: { auth: 'public', audit: { action: 'test.choice', resourceType: 'test' } },
        schema: {
          body: Type.Object(
            {
              format: Type.Union([Type.Literal('a'), Type.Literal('b')]),
              exact: Type.Optional(Type.Literal('yes')),
              size: Type.Optional(Type.Integer({ enum: [1, 2] }))
            },
            { additionalProperties: false }
          )
        }
      },
      async (request) => request.body
    )
    app.get('/test/boom', { config: { auth: 'public' } }, async () => {
      throw new Error('secret internal detail: password=hunter2 at /srv/app.ts:42')
    })
    app.get('/test/duplicate', { config: { auth: 'public' } }, async () => {
      await app.sql.begin(async (tx) => {
        await tx`create temporary table t (id int primary key) on commit drop`
        await tx`insert into t values (1), (1)`
      })
    })
  })

  t.test('accepts a well-formed client request id and echoes it', async (t) => {
    const res = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'client-123.abc_DEF' } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-request-id'], 'client-123.abc_DEF')
    const line = logs.lines.find((l) => l.requestId === 'client-123.abc_DEF' && l.msg === 'request completed')
    t.ok(line, 'the completion log line carries the request id')
    t.match(line, { method: 'GET', route: '/health/live', statusCode: 200 })
  })

  t.test('replaces a malformed request id with a new UUID', async (t) => {
    for (const bad of ['has spaces', 'x'.repeat(65), 'semi;colon', '']) {
      const res = await app.inject({ url: '/health/live', headers: { 'x-request-id': bad } })
      t.not(res.headers['x-request-id'], bad)
      t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    }
  })

  t.test('generates one when absent: a UUIDv7 that carries the time it was made', async (t) => {
    const before = Date.now()
    const res = await app.inject({ url: '/health/live' })
    const id = String(res.headers['x-request-id'])
    t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    t.ok(uuidv7Time(id) >= before && uuidv7Time(id) <= Date.now(), 'its time is the request time')
  })

  t.test('404 has the error shape and the request id', async (t) => {
    const res = await app.inject({ url: '/nowhere?x=1', headers: { 'x-request-id': 'req-404' } })
    t.equal(res.statusCode, 404)
    const body = res.json()
    t.same(Object.keys(body).sort(), ERROR_KEYS)
    t.match(body, { statusCode: 404, code: 'APP_ERR_ROUTE_NOT_FOUND', error: 'Not Found', requestId: 'req-404' })
    t.equal(body.message, 'Route GET /nowhere not found', 'the path, not the query')
    t.equal(res.headers['x-request-id'], 'req-404')
  })

  t.test('validation errors are 400 in the error shape and name the field', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/test/echo',
      payload: { name: 'far too long a name' },
      headers: { 'x-request-id': 'req-400' }
    })
    t.equal(res.statusCode, 400)
    const body = res.json()
    t.same(Object.keys(body).sort(), [...ERROR_KEYS, 'problems'].sort(), 'the envelope, and its problems')
    t.match(body, { statusCode: 400, code: 'APP_ERR_VALIDATION', error: 'Bad Request', requestId: 'req-400' })
    t.match(body.message, /name/)
    t.same(body.problems, [{ path: '/name', message: 'Name must be at most 10 characters long' }])
    const unknown = await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'a', extra: 1 } })
    t.equal(unknown.statusCode, 400, 'an unknown field is refused')
  })

  t.test('a refused choice of values says which values it takes', async (t) => {
    const message = async (payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url: '/test/choice', payload })
      t.equal(res.statusCode, 400)
      return res.json().message
    }
    t.equal(await message({ format: 'c' }), 'body/format must be one of: a, b')
    t.equal(await message({ format: 'a', exact: 'no' }), 'body/exact must be yes')
    t.equal(await message({ format: 'a', size: 3 }), 'body/size must be one of: 1, 2')
    t.equal(
      await message({ format: 'a', size: 'big' }),
      'body/size must be integer',
      'other errors read as Ajv words them'
    )
  })

  t.test('a thrown error is a 500 whose message is masked', async (t) => {
    const res = await app.inject({ url: '/test/boom', headers: { 'x-request-id': 'req-500' } })
    t.equal(res.statusCode, 500)
    const body = res.json()
    t.same(body, {
      statusCode: 500,
      code: 'APP_ERR_INTERNAL',
      error: 'Internal Server Error',
      message: 'An internal error occurred',
      requestId: 'req-500'
    })
    t.notMatch(res.body, /hunter2|app\.ts|secret internal/)
    const logged = logs.lines.find((l) => l.requestId === 'req-500' && l.level === 50)
    t.ok(logged, 'the real error is logged with the request id')
  })

  t.test('a unique violation is a 409', async (t) => {
    const res = await app.inject({ url: '/test/duplicate' })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { statusCode: 409, code: 'APP_ERR_CONFLICT', error: 'Conflict' })
    t.notMatch(res.body, /duplicate key|pkey/)
  })

  t.test('malformed JSON is a 400 in the error shape', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/test/echo',
      payload: '{"name": ',
      headers: { 'content-type': 'application/json' }
    })
    t.equal(res.statusCode, 400)
    t.same(Object.keys(res.json()).sort(), ERROR_KEYS)
  })
})

t.test('a request runs only the hooks its route needs', async (t) => {
  const { url } = await createTestDatabase(t)
  const seen = new Map<string, string[]>()
  const names = (hooks: unknown) => [hooks ?? []].flat().map((h) => (h as { name: string }).name)
  await buildTestApp(t, url, {}, (app) => {
    // Added after every plugin's onRoute hook, so it sees each route as they left it.
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/test/') || route.method === 'HEAD') return
      seen.set(`${route.method} ${route.url}`, [...names(route.onRequest), ...names(route.onResponse)])
    })
    app.get('/test/read/:id', { config: { auth: 'user' } }, async () => ({}))
    app.post(
      '/test/write',
      { config: { auth: 'user', audit: { action: 'test.write', resourceType: 'test' } } },
      async () => ({})
    )
  })
  const read = seen.get('GET /test/read/:id') ?? []
  const write = seen.get('POST /test/write') ?? []
  t.ok(write.includes('strictContentType'), 'a body route checks its Content-Type')
  t.notOk(read.includes('strictContentType'), 'a read has no body to check')
  t.ok(write.includes('auditAfterResponse'), 'an audited route records its refusals')
  t.notOk(read.includes('auditAfterResponse'), 'an unaudited read has nothing to record')
  t.ok(read.includes('authenticate') && write.includes('authenticate'), 'both still authenticate')
})
