import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import t from 'tap'
import auditPlugin from '../../plugins/audit.ts'
import authPlugin from '../../plugins/auth.ts'
import dbPlugin from '../../plugins/db.ts'
import requestContextPlugin from '../../plugins/request-context.ts'
import { renderAuthzMatrix } from '../../src/docs.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { bearer, createAdmin, registerAndLogin } from '../helpers/users.ts'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const SOME_ID = '00000000-0000-4000-8000-00000000beef'

t.test('the auth plugin refuses a route without a declaration, and bad options', async (t) => {
  const app = Fastify()
  await app.register(requestContextPlugin)
  await app.register(authPlugin, { secret: 'x'.repeat(32), previousSecrets: [], accessTtlSeconds: 900 })
  t.throws(() => app.get('/undeclared', async () => 'x'), { message: /must declare config.auth/ })
  const bad = Fastify()
  bad.register(requestContextPlugin)
  bad.register(authPlugin, { secret: 'short', previousSecrets: [], accessTtlSeconds: 900 })
  await t.rejects(async () => bad.ready(), { message: /secret must be at least 16 characters/ })
})

t.test('the audit plugin refuses a mutating route without an action', async (t) => {
  const { url } = await createTestDatabase(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(requestContextPlugin)
  await app.register(dbPlugin, { url })
  await app.register(auditPlugin)
  t.throws(() => app.post('/unaudited', async () => 'x'), { message: /must declare config.audit/ })
  t.doesNotThrow(() => app.get('/reads-are-fine', async () => 'x'))
})

t.test('walks every route as anonymous, user, other user and admin', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, {
    RATE_LIMIT_MAX_REQUESTS: '100000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '100000'
  })
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const admin = await createAdmin(app)
  const routes = app.routeTable.filter((r) => !(r.method === 'OPTIONS' && r.url.endsWith('*')))
  t.ok(routes.length >= 9)

  for (const route of routes) {
    t.ok(route.auth, `${route.method} ${route.url} declares who may call it`)
    if (MUTATING.has(route.method)) t.ok(route.audit?.action, `${route.method} ${route.url} declares an audit action`)
    const path = route.url.replace(/:id\b/g, SOME_ID).replace(/:(\w+)/g, 'x')
    const call = (headers: Record<string, string> = {}) =>
      app.inject({
        method: route.method as 'GET',
        url: path,
        headers,
        ...(MUTATING.has(route.method) ? { payload: {} } : {})
      })
    const anonymous = await call()
    const asUser = await call(bearer(user))
    const asOther = await call(bearer(other))
    const asAdmin = await call(bearer(admin))
    const label = `${route.method} ${route.url}`
    if (route.auth === 'public') {
      t.notOk([401, 403].includes(anonymous.statusCode), `${label}: anonymous is let in (${anonymous.statusCode})`)
    } else {
      t.equal(anonymous.statusCode, 401, `${label}: anonymous gets 401`)
    }
    if (route.auth === 'admin') {
      t.equal(asUser.statusCode, 403, `${label}: a user gets 403`)
      t.equal(asOther.statusCode, 403, `${label}: another user gets 403`)
    } else {
      t.notOk([401, 403].includes(asUser.statusCode), `${label}: a user is let in (${asUser.statusCode})`)
      t.notOk([401, 403].includes(asOther.statusCode), `${label}: another user is let in (${asOther.statusCode})`)
    }
    t.notOk([401, 403].includes(asAdmin.statusCode), `${label}: an admin is let in (${asAdmin.statusCode})`)
  }

  t.test('docs/authz-matrix.md is current (npm run docs regenerates it)', async (t) => {
    const file = await readFile(new URL('../../docs/authz-matrix.md', import.meta.url), 'utf8')
    t.equal(file, renderAuthzMatrix(app.routeTable))
  })
})
