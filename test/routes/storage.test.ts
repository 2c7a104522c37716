import t from 'tap'
import { applyRetention } from '../../jobs/maintenance.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const MB = 1024 * 1024

t.test('each user’s storage is counted as it changes, and past the quota nothing more is stored', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, { QUOTA_STORAGE_BYTES: String(2 * MB), RATE_LIMIT_MAX_REQUESTS: '100000' })
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const create = (who = user) => postWorkspace(app, who, { name: 'w', design: SAMPLE_DESIGN })
  const stored = async (id: string) =>
    Number((await sql`select coalesce(sum(bytes), 0) as b from app.user_storage where owner_id = ${id}`)[0].b)
  // What the triggers keep, against the same sums taken directly.
  const actual = async (id: string) =>
    Number(
      (
        await sql`
          select
            (select coalesce(sum(app.stored_bytes(to_jsonb(w))), 0) from app.workspaces w where owner_id = ${id})
            + (select coalesce(sum(app.stored_bytes(to_jsonb(r))), 0) from app.simulation_runs r where owner_id = ${id})
            + (select coalesce(sum(app.stored_bytes(to_jsonb(e))), 0) from app.report_exports e where owner_id = ${id})
            as b
        `
      )[0].b
    )

  const ws = (await create()).json()
  t.ok((await stored(user.id)) > 0, 'a workspace counts')
  t.equal(await stored(user.id), await actual(user.id))
  const run = await app.inject({
    method: 'POST',
    url: `/workspaces/${ws.id}/simulations`,
    headers: bearer(user),
    payload: {}
  })
  t.equal(run.statusCode, 202)
  await sql`update app.simulation_runs set status = 'completed', result = ${sql.json({ big: 'x'.repeat(5000) })} where id = ${run.json().id}`
  t.equal(await stored(user.id), await actual(user.id), 'a run, and its result written later')
  await sql`update app.workspaces set name = 'renamed' where id = ${ws.id}`
  t.equal(await stored(user.id), await actual(user.id), 'an update')

  // A large export (incompressible text) passes the quota: the next writes that store more are refused.
  await sql`
    insert into app.report_exports (workspace_id, owner_id, format, status, content)
    select ${ws.id}, ${user.id}, 'json', 'completed', string_agg(md5(random()::text) || md5(random()::text), '')
    from generate_series(1, 40000)
  `
  t.ok((await stored(user.id)) >= 2 * MB, `past the quota: ${await stored(user.id)} bytes`)
  t.equal(await stored(user.id), await actual(user.id))
  const refused = await create()
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), { code: 'APP_ERR_QUOTA_REACHED', message: /2 MB of storage are used/ })
  const design = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${ws.id}`,
    headers: bearer(user),
    payload: { version: 1, design: SAMPLE_DESIGN }
  })
  t.equal(design.statusCode, 403, 'a new design is refused too')
  const renamed = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${ws.id}`,
    headers: bearer(user),
    payload: { version: 1, name: 'still mine' }
  })
  t.equal(renamed.statusCode, 200, 'a rename is not')
  for (const path of [`/workspaces/${ws.id}/simulations`, `/workspaces/${ws.id}/exports`]) {
    const res = await app.inject({
      method: 'POST',
      url: path,
      headers: bearer(user),
      payload: path.endsWith('exports') ? { format: 'json' } : {}
    })
    t.equal(res.statusCode, 403, `${path} refused`)
  }
  t.equal((await create(other)).statusCode, 201, 'another user is not affected')

  // Deleting frees the space: the quota follows.
  await sql`delete from app.report_exports where owner_id = ${user.id}`
  t.equal(await stored(user.id), await actual(user.id))
  t.equal((await create()).statusCode, 201, 'room again')
  await app.inject({ method: 'DELETE', url: `/workspaces/${ws.id}`, headers: bearer(user) })
  t.equal(await stored(user.id), await actual(user.id), 'a deleted workspace takes its runs’ bytes with it')
})

t.test('retention deletes what it should and keeps every run a grade needs', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const ws = (await postWorkspace(app, user, { name: 'r', design: SAMPLE_DESIGN })).json()
  const runAt = async (hoursAgo: number, status = 'completed') => {
    const [row] = await sql`
      insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, created_at)
      values (${ws.id}, ${user.id}, ${status}, ${sql.json(SAMPLE_DESIGN)}, ${sql.json({})}, 1, now() - make_interval(hours => ${hoursAgo}))
      returning id
    `
    return row.id as string
  }
  // Ten runs, newest first in hours ago 1..10; the oldest of them is graded; one older run is still running.
  const runs = []
  for (let h = 1; h <= 10; h++) runs.push(await runAt(h))
  const running = await runAt(50, 'running')
  await sql`insert into app.grade_reports (simulation_id, owner_id, status, score) values (${runs[9]}, ${user.id}, 'completed', 80)`
  await sql`
    insert into app.report_exports (workspace_id, owner_id, format, status, content, created_at)
    values
      (${ws.id}, ${user.id}, 'json', 'completed', 'old', now() - interval '40 days'),
      (${ws.id}, ${user.id}, 'json', 'completed', 'recent', now() - interval '2 days'),
      (${ws.id}, ${user.id}, 'json', 'queued', null, now() - interval '40 days')
  `
  const family = '0190a0b0-0000-7000-8000-00000000000a'
  await sql`
    insert into app.refresh_tokens (user_id, family_id, token_hash, family_expires_at)
    values (${user.id}, ${family}, 'expired-hash', now() - interval '1 day')
  `
  const live = await sql`select count(*)::int as n from app.refresh_tokens where family_expires_at > now()`
  for (const [table, hash, age] of [
    ['password_reset_tokens', 'old-reset', '2 days'],
    ['login_link_tokens', 'old-link', '2 days'],
    ['email_verification_tokens', 'recent-verify', '1 hour']
  ] as const)
    await sql`
      insert into ${sql(`app.${table}`)} (token_hash, user_id, job_id, expires_at)
      values (${hash}, ${user.id}, ${family}, now() - ${age}::interval)
    `

  const done = await applyRetention(testSql(t, url), { exportDays: 30, runsPerWorkspace: 4 })
  t.same(done, { refreshTokensExpired: 1, linkTokensExpired: 2, exportsExpired: 1, runsExpired: 5 })
  t.same(
    await sql`select token_hash from app.email_verification_tokens`,
    [{ token_hash: 'recent-verify' }],
    'a link expired within the day stays'
  )
  const kept = (await sql`select id from app.simulation_runs where workspace_id = ${ws.id}`).map((r) => r.id).sort()
  t.same(kept, [...runs.slice(0, 4), runs[9], running].sort(), 'the newest four, the graded one, the running one')
  t.same(
    (await sql`select content from app.report_exports order by content nulls first`).map((r) => r.content),
    [null, 'recent'],
    'the old export goes; a recent one and one still being made stay'
  )
  t.same(
    await sql`select count(*)::int as n from app.refresh_tokens where family_expires_at > now()`,
    live,
    'live tokens stay'
  )
  t.same(
    await applyRetention(testSql(t, url), { exportDays: 30, runsPerWorkspace: 4 }),
    {
      refreshTokensExpired: 0,
      linkTokensExpired: 0,
      exportsExpired: 0,
      runsExpired: 0
    },
    'a second pass finds nothing'
  )
})
