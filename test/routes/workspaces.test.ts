import t from 'tap'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('workspaces and traffic profiles', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  // Reads past the row-level security (the app's role sees no workspace without a user's context).
  const root = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, ENV)
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const create = (payload: object) => app.inject({ method: 'POST', url: '/workspaces', headers: auth, payload })

  t.test('creates, reads and lists newest first with a cursor', async (t) => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await create({ name: `Design ${i}`, design: SAMPLE_DESIGN })
      t.equal(res.statusCode, 201)
      t.match(res.json(), { name: `Design ${i}`, version: 1, design: { components: Array } })
      ids.push(res.json().id)
    }
    const read = await app.inject({ url: `/workspaces/${ids[0]}`, headers: auth })
    t.same(read.json().design, SAMPLE_DESIGN)
    const page1 = await app.inject({ url: '/workspaces?limit=2', headers: auth })
    t.same(
      page1.json().items.map((w: { id: string }) => w.id),
      [ids[4], ids[3]]
    )
    t.equal(page1.json().items[0].components, 5)
    const page2 = await app.inject({ url: `/workspaces?limit=2&cursor=${page1.json().nextCursor}`, headers: auth })
    t.same(
      page2.json().items.map((w: { id: string }) => w.id),
      [ids[2], ids[1]]
    )
    const page3 = await app.inject({ url: `/workspaces?limit=2&cursor=${page2.json().nextCursor}`, headers: auth })
    t.same(
      page3.json().items.map((w: { id: string }) => w.id),
      [ids[0]]
    )
    t.equal(page3.json().nextCursor, null)
    const bad = await app.inject({ url: '/workspaces?cursor=bm9wZQ', headers: auth })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().code, 'APP_ERR_INVALID_CURSOR')
    // The right shape with what Postgres refuses (an invalid UUID, a year it cannot hold): 400, not 500.
    for (const forged of [
      `2026-01-01T00:00:00.000Z|${'-'.repeat(36)}`,
      `2026-01-01T00:00:00.000Z|zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz`,
      `+275760-09-13T00:00:00.000Z|${ids[0]}`
    ]) {
      const res = await app.inject({
        url: `/workspaces?cursor=${Buffer.from(forged).toString('base64url')}`,
        headers: auth
      })
      t.equal(res.statusCode, 400, forged)
      t.equal(res.json().code, 'APP_ERR_INVALID_CURSOR')
    }
    const traffic = await app.inject({ url: `/workspaces/${ids[0]}/traffic-profile`, headers: auth })
    t.match(traffic.json(), { peakRps: 100, readRatio: 0.8, payloadKb: 4, latencySloMs: 300, version: 1 })
  })

  t.test('an invalid design is a 422 listing every problem, and nothing is stored', async (t) => {
    const before = (await root`select count(*)::int as n from app.workspaces`)[0].n
    const design = structuredClone(SAMPLE_DESIGN)
    design.components[2].instances = 0
    design.links[1].to = 'ghost'
    const res = await create({ name: 'Broken', design })
    t.equal(res.statusCode, 422)
    const body = res.json()
    t.match(body, { statusCode: 422, code: 'APP_ERR_INVALID_DESIGN', error: 'Unprocessable Entity', requestId: String })
    t.same(body.problems.map((p: { path: string }) => p.path).sort(), ['/components/2/instances', '/links/1/to'])
    t.equal((await root`select count(*)::int as n from app.workspaces`)[0].n, before)
    const shape = await create({ name: 'Broken', design: { components: 'nope', links: [] } })
    t.equal(shape.statusCode, 400, 'a wrongly shaped body is a 400 before any semantic check')
    const tooMany = await create({
      name: 'Huge',
      design: {
        components: Array.from({ length: 501 }, (_, i) => ({
          id: `c${i}`,
          type: 'service',
          instances: 1,
          concurrency: 1,
          serviceTimeMs: 1
        })),
        links: []
      }
    })
    t.equal(tooMany.statusCode, 400)
  })

  t.test('autosave: the right version saves, a stale one is a 409 with the current version', async (t) => {
    const ws = (await create({ name: 'Autosave', design: SAMPLE_DESIGN })).json()
    const save = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 1, name: 'Autosave v2' }
    })
    t.equal(save.statusCode, 200)
    t.match(save.json(), { name: 'Autosave v2', version: 2 })
    const stale = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 1, name: 'Lost edit' }
    })
    t.equal(stale.statusCode, 409)
    t.match(stale.json(), { code: 'APP_ERR_VERSION_CONFLICT', currentVersion: 2 })
    const now = await app.inject({ url: `/workspaces/${ws.id}`, headers: auth })
    t.match(now.json(), { name: 'Autosave v2', version: 2 }, 'nothing changed')
    const design = structuredClone(SAMPLE_DESIGN)
    design.components[2].instances = 6
    const withDesign = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 2, design }
    })
    t.equal(withDesign.json().design.components[2].instances, 6)
    const invalid = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 3, design: { components: [], links: [] } }
    })
    t.equal(invalid.statusCode, 422)
    const empty = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 3 }
    })
    t.equal(empty.statusCode, 400, 'a PATCH must change something')
    const audits = () =>
      sql`select outcome, status_code from app.audit_log where action = 'workspace.update' and resource_id = ${ws.id} order by id`
    t.ok((await audits()).some((a) => a.outcome === 'success'))
    // A refusal is recorded after its response, so it may land a moment later.
    await waitFor(async () => (await audits()).some((a) => a.status_code === 409), {
      what: 'the refused save audited too'
    })
  })

  t.test('a refusal from its handler whose body is a JSON scalar or array still gets its audit row', async (t) => {
    const bodies = [true, 'just text', 42, [true, false], ['a', 'b'], [1, 2]]
    for (const [i, body] of bodies.entries()) {
      // A DELETE takes any body; the handler refuses (404). A body failing a schema is only counted.
      const res = await app.inject({
        method: 'DELETE',
        url: '/workspaces/00000000-0000-4000-8000-000000000000',
        headers: { ...auth, 'content-type': 'application/json', 'x-request-id': `scalar-body-${i}` },
        payload: JSON.stringify(body)
      })
      t.equal(res.statusCode, 404)
    }
    // Written after the response (found by the fuzzer: these inserts failed, and the rows were lost).
    const rows = await waitFor(
      async () => {
        const found = await sql`
          select request_id, changes, outcome from app.audit_log where request_id like 'scalar-body-%' order by request_id
        `
        return found.length === bodies.length ? found : null
      },
      { what: 'an audit row for each refused request' }
    )
    t.same(
      rows.map((r) => r.changes),
      bodies,
      'each row holds the body as it came'
    )
    t.ok(rows.every((r) => r.outcome === 'failure'))
    t.ok((await verifyAuditChain(sql)).ok, 'and they seal into the hash chain like any other')
  })

  t.test('traffic profile autosave is versioned the same way', async (t) => {
    const ws = (await create({ name: 'Traffic', design: SAMPLE_DESIGN })).json()
    const save = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}/traffic-profile`,
      headers: auth,
      payload: { version: 1, peakRps: 800, readRatio: 0.95 }
    })
    t.equal(save.statusCode, 200)
    t.match(save.json(), { peakRps: 800, readRatio: 0.95, version: 2 })
    const stale = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}/traffic-profile`,
      headers: auth,
      payload: { version: 1, peakRps: 1 }
    })
    t.equal(stale.statusCode, 409)
    t.equal(stale.json().currentVersion, 2)
    const bad = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}/traffic-profile`,
      headers: auth,
      payload: { version: 2, readRatio: 1.5 }
    })
    t.equal(bad.statusCode, 400)
  })

  t.test('a version beyond a Postgres integer is a 400, not a 500 (found by the fuzzer)', async (t) => {
    const id = (await create({ name: 'Huge version', design: SAMPLE_DESIGN })).json().id
    for (const [url, payload] of [
      [`/workspaces/${id}`, { version: 2 ** 53, name: 'x' }],
      [`/workspaces/${id}/traffic-profile`, { version: 2 ** 53, peakRps: 10 }]
    ] as const) {
      const res = await app.inject({ method: 'PATCH', url, headers: auth, payload })
      t.equal(res.statusCode, 400, url)
      t.equal(res.json().code, 'APP_ERR_VALIDATION')
    }
    const [row] = await root`select version from app.workspaces where id = ${id}`
    t.equal(row.version, 1, 'nothing changed')
  })

  t.test('delete removes the workspace and what hangs off it', async (t) => {
    const ws = (await create({ name: 'Doomed', design: SAMPLE_DESIGN })).json()
    const del = await app.inject({ method: 'DELETE', url: `/workspaces/${ws.id}`, headers: auth })
    t.equal(del.statusCode, 204)
    t.equal((await app.inject({ url: `/workspaces/${ws.id}`, headers: auth })).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: `/workspaces/${ws.id}`, headers: auth })).statusCode, 404)
    t.equal((await sql`select count(*)::int as n from app.traffic_profiles where workspace_id = ${ws.id}`)[0].n, 0)
  })

  t.test('feature flags switch exports and grading off with a clear 503', async (t) => {
    const { app: off } = await buildTestApp(t, url, { ...ENV, FLAG_EXPORTS: 'false', FLAG_GRADING: 'false' })
    const ws = (await create({ name: 'Flags', design: SAMPLE_DESIGN })).json()
    const exp = await off.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/exports`,
      headers: auth,
      payload: { format: 'json' }
    })
    t.equal(exp.statusCode, 503)
    t.match(exp.json(), { code: 'APP_ERR_FEATURE_DISABLED', message: /Exporting is switched off/ })
    const grade = await off.inject({ method: 'POST', url: `/simulations/${ws.id}/grade`, headers: auth, payload: {} })
    t.equal(grade.statusCode, 503)
    const on = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/exports`,
      headers: auth,
      payload: { format: 'json' }
    })
    t.equal(on.statusCode, 202)
  })

  t.test('the OpenAPI document lists every route with its responses', async (t) => {
    const res = await app.inject({ url: '/openapi.json' })
    t.equal(res.statusCode, 200)
    const doc = res.json()
    t.equal(doc.openapi, '3.1.0')
    const documented = app.routeTable.filter(
      (r) => r.method !== 'OPTIONS' && !['/openapi.json', '/metrics'].includes(r.url)
    )
    for (const route of documented) {
      const path = route.url.replace(/:(\w+)/g, '{$1}')
      const op = doc.paths[path]?.[route.method.toLowerCase()]
      t.ok(op, `${route.method} ${route.url} is documented`)
      t.ok(op && Object.keys(op.responses ?? {}).length >= 1, `${route.method} ${route.url} lists its responses`)
      if (route.auth !== 'public') t.ok(op?.responses?.['401'], `${route.method} ${route.url} documents its 401`)
      // Public routes need no token; the others inherit the document's bearer requirement.
      if (route.auth === 'public') t.same(op?.security, [], `${route.method} ${route.url} asks for no token`)
      else t.equal(op?.security, undefined, `${route.method} ${route.url} asks for the bearer token`)
    }
    t.same(
      Object.keys(doc.paths['/exports/{id}/content'].get.responses['200'].content).sort(),
      ['application/json', 'text/html', 'text/markdown'],
      'the export content documents each of its media types'
    )
    const headerNames = (r: (typeof app.routeTable)[number]) =>
      Object.keys((r.schema?.headers as { properties?: object } | undefined)?.properties ?? {})
    const idempotent = app.routeTable.filter((r) => headerNames(r).includes('idempotency-key'))
    t.same(
      app.routeTable
        .filter((r) => headerNames(r).includes('x-refresh-cookie'))
        .map((r) => r.url)
        .sort(),
      ['/auth/login', '/auth/login-link', '/auth/logout', '/auth/refresh'],
      'the browser mode’s header is documented where it applies'
    )
    t.same(idempotent.map((r) => `${r.method} ${r.url}`).sort(), [
      'POST /exercises/:slug/attempts',
      'POST /simulations/:id/grade',
      'POST /workspaces',
      'POST /workspaces/:id/exports',
      'POST /workspaces/:id/simulations'
    ])
    for (const route of idempotent) {
      const op = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')][route.method.toLowerCase()]
      t.ok(
        op.parameters?.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'idempotency-key'),
        `${route.method} ${route.url} documents Idempotency-Key`
      )
    }
    // A body whose fields are all optional may be left out, and the document says so.
    const optionalBodies = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { requestBody?: { required: boolean } }>)
        .filter(([, op]) => op.requestBody?.required === false)
        .map(([method]) => `${method.toUpperCase()} ${path}`)
    )
    t.same(optionalBodies.sort(), [
      'POST /auth/logout',
      'POST /auth/refresh',
      'POST /classes/{id}/join',
      'POST /classes/{id}/join-codes',
      'POST /exercises/{slug}/attempts',
      'POST /exports/{id}/link',
      'POST /shares/{token}/forks',
      'POST /simulations/{id}/grade',
      'POST /workspaces/{id}/give-up',
      'POST /workspaces/{id}/hints',
      'POST /workspaces/{id}/preview',
      'POST /workspaces/{id}/shares',
      'POST /workspaces/{id}/simulations',
      'POST /workspaces/{id}/submit'
    ])
    t.equal(doc.paths['/workspaces/{id}/exports'].post.requestBody.required, true)
    // Routes that create something say where it is read.
    const located = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>)
        .filter(([, op]) => Object.values(op.responses).some((r) => r.headers?.location))
        .map(([method]) => `${method.toUpperCase()} ${path}`)
    )
    t.same(located.sort(), [
      'POST /assignments/{id}/attempts',
      'POST /exercises/{slug}/attempts',
      'POST /simulations/{id}/grade',
      'POST /workspaces',
      'POST /workspaces/{id}/exports',
      'POST /workspaces/{id}/simulations'
    ])
  })
})
