import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { runSqlFile } from '../helpers/sql-files.ts'
import { bearer, createAdmin, registerAndLogin } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('admin API', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, ENV)
  const admin = await createAdmin(app)
  const users = [await registerAndLogin(app), await registerAndLogin(app), await registerAndLogin(app)]

  t.test('audit logs: filters and cursor pagination, newest first', async (t) => {
    const page1 = await app.inject({ url: '/admin/audit-logs?action=auth.login&limit=2', headers: bearer(admin) })
    t.equal(page1.statusCode, 200)
    const body1 = page1.json()
    t.equal(body1.items.length, 2)
    t.ok(body1.items.every((i: { action: string }) => i.action === 'auth.login'))
    t.ok(Number(body1.items[0].id) > Number(body1.items[1].id), 'newest first')
    t.ok(body1.nextCursor)
    // The read itself is audited after the response: its path without the query, the query as changes.
    const readAudit = await waitFor(
      async () =>
        (
          await sql`select path, changes from app.audit_log where request_id = ${page1.headers['x-request-id'] as string}`
        )[0],
      { what: "the audit-log read's own audit row" }
    )
    t.same(readAudit, { path: '/admin/audit-logs', changes: { query: { action: 'auth.login', limit: 2 } } })
    const page2 = await app.inject({
      url: `/admin/audit-logs?action=auth.login&limit=2&cursor=${body1.nextCursor}`,
      headers: bearer(admin)
    })
    const body2 = page2.json()
    t.ok(body2.items.length >= 1)
    t.ok(Number(body2.items[0].id) < Number(body1.items[1].id), 'the next page continues below the cursor')
    const byUser = await app.inject({
      url: `/admin/audit-logs?userId=${users[1].id}&resourceType=session`,
      headers: bearer(admin)
    })
    t.ok(byUser.json().items.length >= 1)
    t.ok(byUser.json().items.every((i: { userId: string }) => i.userId === users[1].id))
    const future = await app.inject({ url: '/admin/audit-logs?since=2999-01-01T00:00:00Z', headers: bearer(admin) })
    t.same(future.json().items, [])
    const bad = await app.inject({ url: '/admin/audit-logs?userId=nope', headers: bearer(admin) })
    t.equal(bad.statusCode, 400)
    const unknown = await app.inject({ url: '/admin/audit-logs?evil=1', headers: bearer(admin) })
    t.equal(unknown.statusCode, 400)
  })

  t.test('telemetry summary per route with percentiles', async (t) => {
    for (let i = 0; i < 5; i++) await app.inject({ url: '/health/live' })
    await app.telemetry.flush()
    const res = await app.inject({ url: '/admin/telemetry/summary?windowMinutes=60', headers: bearer(admin) })
    t.equal(res.statusCode, 200)
    const live = res.json().routes.find((r: { route: string }) => r.route === '/health/live')
    t.match(live, { method: 'GET', count: 5, errorRate: 0 })
    t.ok(live.p50Ms <= live.p95Ms && live.p95Ms <= live.p99Ms)
  })

  t.test('jobs list and retry of a failed job', async (t) => {
    const id = await app.boss.send('maintenance', { task: 'probe' })
    await sql`update pgboss.job set state = 'failed', completed_on = now() where id = ${id}`
    const list = await app.inject({ url: '/admin/jobs?queue=maintenance&state=failed', headers: bearer(admin) })
    t.equal(list.statusCode, 200)
    t.ok(list.json().items.some((j: { id: string }) => j.id === id))
    const retry = await app.inject({
      method: 'POST',
      url: `/admin/jobs/maintenance/${id}/retry`,
      headers: bearer(admin)
    })
    t.equal(retry.statusCode, 202)
    const [job] = await sql`select state::text from pgboss.job where id = ${id}`
    t.equal(job.state, 'retry')
    const again = await app.inject({
      method: 'POST',
      url: `/admin/jobs/maintenance/${id}/retry`,
      headers: bearer(admin)
    })
    t.equal(again.statusCode, 409)
    const missing = await app.inject({
      method: 'POST',
      url: '/admin/jobs/maintenance/00000000-0000-4000-8000-000000000000/retry',
      headers: bearer(admin)
    })
    t.equal(missing.statusCode, 404)
    const badQueue = await app.inject({ method: 'POST', url: `/admin/jobs/nope/${id}/retry`, headers: bearer(admin) })
    t.equal(badQueue.statusCode, 400)
  })

  t.test('the jobs list pages with the same cursors as every list', async (t) => {
    const sent = [] as string[]
    for (let i = 0; i < 3; i++) sent.push((await app.boss.send('maintenance', { task: 'probe', holdMs: i })) as string)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res: { statusCode: number; json: () => { items: { id: string }[]; nextCursor: string | null } } =
        await app.inject({
          url: `/admin/jobs?queue=maintenance&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          headers: bearer(admin)
        })
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.ok(body.items.length <= 2, 'a page holds at most the limit')
      seen.push(...body.items.map((j: { id: string }) => j.id))
      cursor = body.nextCursor
    } while (cursor)
    t.equal(new Set(seen).size, seen.length, 'no job on two pages')
    t.ok(
      sent.every((id) => seen.includes(id)),
      'every job on some page'
    )
    const auditCursor = await app.inject({
      url: `/admin/audit-logs?cursor=${cursor ?? 'bm9wZQ'}`,
      headers: bearer(admin)
    })
    t.equal(auditCursor.statusCode, 400, 'a cursor that is not one of the audit log’s is a 400')
  })

  t.test('flags are listed', async (t) => {
    const res = await app.inject({ url: '/admin/flags', headers: bearer(admin) })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { flags: { EXPORTS: true, GRADING: true } })
  })

  t.test('admin reads and actions are audited', async (t) => {
    await app.inject({ url: '/admin/jobs', headers: { ...bearer(admin), 'x-request-id': 'admin-read' } })
    const [row] = await waitFor(() =>
      sql`select * from app.audit_log where request_id = 'admin-read'`.then((r) => (r.length ? r : null))
    )
    t.match(row, { action: 'admin.jobs.read', user_id: admin.id, outcome: 'success' })
    const actions = (await sql`select distinct action from app.audit_log where user_id = ${admin.id}`).map(
      (r) => r.action
    )
    for (const action of ['admin.audit_logs.read', 'admin.telemetry.read', 'admin.job.retry']) {
      t.ok(actions.includes(action), action)
    }
  })

  t.test('the correlation query returns a request, its audit rows and its jobs', async (t) => {
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'x-request-id': 'corr-1' },
      payload: { email: users[0].email, password: 'correct horse battery staple' }
    })
    await app.telemetry.flush()
    const { enqueueJob } = await import('../../src/queue/enqueue.ts')
    const { MaintenanceJob } = await import('../../src/queue/messages.ts')
    await sql.begin((tx) => enqueueJob(app.boss, tx, MaintenanceJob, { task: 'probe' }, 'corr-1'))
    const rows = await runSqlFile(sql, 'sql/queries/correlate_request.sql', { id: 'corr-1' })
    const sources = rows.map((r) => r.source)
    t.ok(sources.includes('request'))
    t.ok(sources.includes('audit'))
    t.ok(sources.includes('job'))
    t.match(
      rows.find((r) => r.source === 'audit'),
      { what: 'auth.login' }
    )
  })
})
