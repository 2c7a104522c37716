import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import t from 'tap'
import auditPlugin from '../../plugins/audit.ts'
import authPlugin from '../../plugins/auth.ts'
import dbPlugin from '../../plugins/db.ts'
import requestContextPlugin from '../../plugins/request-context.ts'
import { MATRIX_ENV, renderAuthzMatrix } from '../../src/docs.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, createAdmin, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const SOME_ID = '00000000-0000-4000-8000-00000000beef'
const VALID_BODIES: Record<string, object> = {
  'PATCH /workspaces/:id': { version: 99, name: 'renamed' },
  'PATCH /workspaces/:id/traffic-profile': { version: 99, peakRps: 10 },
  'POST /workspaces/:id/exports': { format: 'json' },
  'POST /classes/:id/members': { email: 'invitee@example.com' },
  'POST /classes/join': { code: 'AAAAAAAAAA' },
  'POST /classes/:id/assignments': { exerciseSlug: exercises().list[0].slug, dueAt: '2099-01-01T00:00:00Z' }
}

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
    ...MATRIX_ENV,
    RATE_LIMIT_MAX_REQUESTS: '100000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '100000'
  })
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const admin = await createAdmin(app)
  // Disabling someone is an admin action the walk really performs: not on the users it walks with.
  const victim = await registerAndLogin(app)
  const routes = app.routeTable.filter((r) => !(r.method === 'OPTIONS' && r.url.endsWith('*')))
  t.ok(routes.length >= 20)

  // One resource of each kind, owned by `user`; `other` must get 404 for every one of them.
  const created = await postWorkspace(app, user, { name: 'Owned', design: SAMPLE_DESIGN })
  t.equal(created.statusCode, 201)
  const workspaceId = created.json().id
  // Fixtures past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const [run] = await sql`
    insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, result)
    select id, owner_id, 'completed', design, '{}'::jsonb, 1, '{}'::jsonb from app.workspaces where id = ${workspaceId}
    returning id
  `
  const [grade] = await sql`
    insert into app.grade_reports (simulation_id, owner_id, status, score, items)
    values (${run.id}, ${user.id}, 'completed', 100, '[]') returning id
  `
  // The workspace is an exercise attempt too, so that the attempt routes let its owner in.
  await sql`
    insert into app.exercise_attempts (workspace_id, owner_id, exercise_slug, locked_traffic)
    values (${workspaceId}, ${user.id}, 'guestbook', '{}')
  `
  const [exported] = await sql`
    insert into app.report_exports (workspace_id, owner_id, format, status, content, content_type, filename)
    values (${workspaceId}, ${user.id}, 'json', 'completed', '{}', 'application/json', 'x.json') returning id
  `
  // An organisation, and a class with a join code, of `user`'s (their instructor).
  const org = (await app.inject({ method: 'POST', url: '/orgs', headers: bearer(user), payload: { name: 'O' } })).json()
  const cls = (
    await app.inject({
      method: 'POST',
      url: '/classes',
      headers: bearer(user),
      payload: { organisationId: org.id, name: 'C' }
    })
  ).json()
  const code = (
    await app.inject({ method: 'POST', url: `/classes/${cls.id}/join-codes`, headers: bearer(user) })
  ).json()
  const assignment = (
    await app.inject({
      method: 'POST',
      url: `/classes/${cls.id}/assignments`,
      headers: bearer(user),
      payload: VALID_BODIES['POST /classes/:id/assignments']
    })
  ).json()
  const idFor = (url: string) => {
    if (url.startsWith('/assignments/')) return assignment.id
    if (url.startsWith('/classes/')) return cls.id
    if (url.startsWith('/orgs/')) return org.id
    if (url.startsWith('/workspaces/')) return workspaceId
    if (url.startsWith('/simulations/')) return run.id
    if (url.startsWith('/grades/')) return grade.id
    if (url.startsWith('/exports/')) return exported.id
    if (url.endsWith('/disable') || url.endsWith('/enable')) return victim.id
    if (url.startsWith('/admin/users/')) return user.id
    return SOME_ID
  }

  // Mutations that would remove the fixtures, or disable the user, run last (the workspace itself
  // after what hangs off it); ending every
  // session of the walkers runs after everything else.
  const last = (r: { method: string; url: string }) =>
    r.url === '/auth/logout-all'
      ? 2
      : r.method === 'DELETE' && r.url === '/workspaces/:id'
        ? 1.5
        : Number(r.method === 'DELETE' || r.url.endsWith('/disable'))
  const ordered = [...routes].sort((a, b) => last(a) - last(b))
  for (const route of ordered) {
    t.ok(route.auth, `${route.method} ${route.url} declares who may call it`)
    if (MUTATING.has(route.method))
      t.ok(route.audit?.action ?? route.unaudited, `${route.method} ${route.url} declares an audit action, or why none`)
    const path = route.url
      .replace(':queue', 'maintenance')
      .replace(/:id\b/g, idFor(route.url))
      .replace(':userId', user.id)
      .replace(':codeId', code.id)
      .replace(/:(\w+)/g, 'x')
    // A valid body, so that ownership (not validation) decides the answer.
    const payload = VALID_BODIES[`${route.method} ${route.url}`] ?? {}
    const call = (headers: Record<string, string> = {}) =>
      app.inject({
        method: route.method as 'GET',
        url: path,
        headers,
        ...(MUTATING.has(route.method) ? { payload } : {})
      })
    const label = `${route.method} ${route.url}`
    const anonymous = await call()
    const asOther = await call(bearer(other))
    const asAdmin = await call(bearer(admin))
    const asUser = await call(bearer(user))
    if (route.url === '/metrics') {
      // Its own guard (a secret or a CIDR), tested in the metrics plugin's tests; no role opens it.
      for (const res of [anonymous, asOther, asAdmin, asUser]) t.equal(res.statusCode, 403, `${label}: guarded`)
      continue
    }
    if (route.auth === 'public') {
      t.notOk([401, 403].includes(anonymous.statusCode), `${label}: anonymous is let in (${anonymous.statusCode})`)
    } else {
      t.equal(anonymous.statusCode, 401, `${label}: anonymous gets 401`)
    }
    if (route.auth === 'admin') {
      t.equal(asUser.statusCode, 403, `${label}: a user gets 403`)
      t.equal(asOther.statusCode, 403, `${label}: another user gets 403`)
      t.notOk([401, 403].includes(asAdmin.statusCode), `${label}: an admin is let in (${asAdmin.statusCode})`)
      continue
    }
    if (route.ownership && route.url.includes(':id')) {
      t.equal(asOther.statusCode, 404, `${label}: another user's resource is a 404`)
      t.equal(asAdmin.statusCode, 404, `${label}: an admin is not the owner either`)
      t.notOk([401, 403, 404].includes(asUser.statusCode), `${label}: the owner is let in (${asUser.statusCode})`)
    } else {
      t.notOk([401, 403].includes(asUser.statusCode), `${label}: a user is let in (${asUser.statusCode})`)
      t.notOk([401, 403].includes(asAdmin.statusCode), `${label}: an admin is let in (${asAdmin.statusCode})`)
    }
  }

  t.test('docs/authz-matrix.md is current (npm run docs regenerates it)', async (t) => {
    const file = await readFile(new URL('../../docs/authz-matrix.md', import.meta.url), 'utf8')
    t.equal(file, renderAuthzMatrix(app.routeTable))
  })
})
