import t from 'tap'
import { maintainIdempotencyKeys } from '../../jobs/maintenance.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('Idempotency-Key on POST routes', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, ENV)
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const create = (key: string | undefined, name: string, who = user) =>
    postWorkspace(app, who, { name, design: SAMPLE_DESIGN }, key === undefined ? {} : { 'idempotency-key': key })
  const count = async (name: string) => {
    const [row] = await sql<{ workspaces: number; audits: number }[]>`
      select (select count(*)::int from app.workspaces where name = ${name}) as workspaces,
             (select count(*)::int
              from app.audit_log a
              join app.workspaces w on w.id::text = a.resource_id
              where w.name = ${name} and a.action = 'workspace.create' and a.outcome = 'success') as audits
    `
    return row
  }

  t.test('a retry with the same key replays the first response and changes nothing', async (t) => {
    const first = await create('key-1', 'Replay me')
    t.equal(first.statusCode, 201)
    t.notOk(first.headers['idempotent-replayed'])
    const again = await create('key-1', 'Replay me')
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(again.json(), first.json())
    t.equal(first.headers.location, `/workspaces/${first.json().id}`, 'a 201 says where the workspace is read')
    t.equal(again.headers.location, first.headers.location, 'and so does its replay')
    t.same(await count('Replay me'), { workspaces: 1, audits: 1 })
    const [replay] = await sql<{ outcome: string; resource_id: string; status_code: number }[]>`
      select outcome, resource_id, status_code from app.audit_log where request_id = ${again.headers['x-request-id'] as string}
    `
    t.same(
      replay,
      { outcome: 'replayed', resource_id: first.json().id, status_code: 201 },
      'the replay is audited as one'
    )
  })

  t.test('the same key with another body is refused with 422; nothing is created', async (t) => {
    t.equal((await create('key-2', 'First body')).statusCode, 201)
    const res = await create('key-2', 'Second body')
    t.equal(res.statusCode, 422)
    t.equal(res.json().code, 'APP_ERR_IDEMPOTENCY_KEY_REUSED')
    t.same(await count('Second body'), { workspaces: 0, audits: 0 })
  })

  t.test('keys are per user: another user with the same key gets their own change', async (t) => {
    const mine = await create('shared-key', 'Per user')
    const theirs = await create('shared-key', 'Per user', other)
    t.equal(theirs.statusCode, 201)
    t.notOk(theirs.headers['idempotent-replayed'])
    t.not(theirs.json().id, mine.json().id)
  })

  t.test('a malformed key is a 400 and creates nothing', async (t) => {
    for (const key of ['', 'has space', 'x'.repeat(256), 'tab\there']) {
      const res = await create(key, 'Bad key')
      t.equal(res.statusCode, 400, JSON.stringify(key))
      t.equal(res.json().code, 'APP_ERR_INVALID_IDEMPOTENCY_KEY')
    }
    t.same(await count('Bad key'), { workspaces: 0, audits: 0 })
  })

  t.test('concurrent requests with one key make one change; the others replay or get 409', async (t) => {
    const results = await Promise.all(Array.from({ length: 8 }, () => create('race-key', 'Raced')))
    const statuses = results.map((r) => r.statusCode).sort()
    t.ok(
      statuses.every((s) => s === 201 || s === 409),
      statuses.join(',')
    )
    t.same(await count('Raced'), { workspaces: 1, audits: 1 })
    const conflict = results.find((r) => r.statusCode === 409)
    if (conflict) t.equal(conflict.json().code, 'APP_ERR_CONFLICT')
    const retry = await create('race-key', 'Raced')
    t.equal(retry.headers['idempotent-replayed'], 'true')
  })

  t.test('queued jobs (simulation, export) are enqueued once per key', async (t) => {
    const workspace = (await create(undefined, 'Jobs')).json()
    const post = (path: string, payload: object) =>
      app.inject({ method: 'POST', url: path, headers: { ...bearer(user), 'idempotency-key': `k-${path}` }, payload })
    for (const [path, payload] of [
      [`/workspaces/${workspace.id}/simulations`, { seed: 7 }],
      [`/workspaces/${workspace.id}/exports`, { format: 'json' }]
    ] as const) {
      const a = await post(path, payload)
      const b = await post(path, payload)
      t.equal(a.statusCode, 202)
      t.same(b.json(), a.json())
    }
    const [row] = await sql<{ runs: number; exports: number; queued: number }[]>`
      select (select count(*)::int from app.simulation_runs where workspace_id = ${workspace.id}) as runs,
             (select count(*)::int from app.report_exports where workspace_id = ${workspace.id}) as exports,
             (select count(*)::int from app.job_telemetry
              where event = 'queued'
                and job_id in (select id from app.simulation_runs where workspace_id = ${workspace.id}
                               union all
                               select id from app.report_exports where workspace_id = ${workspace.id})) as queued
    `
    t.same(row, { runs: 1, exports: 1, queued: 2 })
  })

  t.test('housekeeping forgets keys older than a day', async (t) => {
    await sql`update app.idempotency_keys set created_at = now() - interval '25 hours' where key = 'key-1'`
    const expired = await maintainIdempotencyKeys(sql)
    t.ok(expired >= 1)
    const fresh = await create('key-1', 'Replay me')
    t.notOk(fresh.headers['idempotent-replayed'], 'an expired key is new again')
  })
})
