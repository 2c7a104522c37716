import t from 'tap'
import { Value } from 'typebox/value'
import { hashToken } from '../../src/accounts/accounts.ts'
import { verifyAuditChain } from '../../src/audit/chain.ts'
import { simulate } from '../../src/domain/engine.ts'
import { EXPORTS_PER_HOUR } from '../../src/routes/account/index.ts'
import { AccountArchive } from '../../src/routes/account/schemas.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, login, PASSWORD, registerAndLogin, type TestUser } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }
const TRAFFIC = { peakRps: 100, readRatio: 0.8, payloadKb: 4, latencySloMs: 200 }

t.test('a learner’s data: export and deletion', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, ENV)
  const result = simulate(SAMPLE_DESIGN, TRAFFIC)

  /** A user with workspaces, runs (some sharing one created_at, across pages), grades, an export and more. */
  async function populated(workspaces: number, runs: number): Promise<TestUser & { workspaceIds: string[] }> {
    const user = await registerAndLogin(app)
    const workspaceIds: string[] = []
    for (let i = 0; i < workspaces; i++) {
      const res = await postWorkspace(
        app,
        user,
        { name: `Design ${i}`, design: SAMPLE_DESIGN },
        { 'idempotency-key': `create-${i}` }
      )
      if (res.statusCode !== 201) throw new Error(res.body)
      workspaceIds.push(res.json().id)
    }
    // Runs inserted as the worker leaves them; one created_at for all, so pages turn on the id.
    const inserted = await sql`
      insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, result, created_at, completed_at)
      select ${workspaceIds[0]}, ${user.id}, 'completed', ${sql.json(SAMPLE_DESIGN as never)}, ${sql.json(TRAFFIC)}, n,
             ${sql.json(result as never)}, '2026-01-01T00:00:00.123456Z', now()
      from generate_series(1, ${runs}) n
      returning id
    `
    await sql`
      insert into app.grade_reports (simulation_id, owner_id, status, score, items, rubric_version, completed_at)
      values (${inserted[0].id}, ${user.id}, 'completed', 87, '[]', 1, now())
    `
    await sql`
      insert into app.report_exports (workspace_id, owner_id, format, status, content, content_type, filename, completed_at)
      values (${workspaceIds[0]}, ${user.id}, 'json', 'completed', '{}', 'application/json', 'report.json', now())
    `
    return { ...user, workspaceIds }
  }

  const exportOf = (user: TestUser) => app.inject({ url: '/account/export', headers: bearer(user) })

  t.test('the export holds the caller’s data, page after page, and nothing of anyone else’s', async (t) => {
    const user = await populated(3, 45)
    const other = await populated(1, 2)
    const res = await exportOf(user)
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(res.headers['content-disposition'], /^attachment; filename="system-design-coach-\d{4}-\d\d-\d\d\.json"$/)
    t.equal(res.headers['cache-control'], 'no-store')
    const archive = res.json()
    t.same([...Value.Errors(AccountArchive, archive)].slice(0, 5), [], 'the archive fits its published schema')
    t.match(archive.profile, { id: user.id, email: user.email, displayName: 'Test User' })
    t.same(
      archive.workspaces.map((w: { id: string }) => w.id).sort(),
      [...user.workspaceIds].sort(),
      'every workspace, once'
    )
    t.match(archive.workspaces[0], { name: 'Design 0', trafficProfile: { workspaceId: user.workspaceIds[0] } })
    t.equal(archive.runs.length, 45, 'every run, across pages of 20 with one created_at')
    t.equal(new Set(archive.runs.map((r: { id: string }) => r.id)).size, 45, 'none twice')
    t.same(archive.runs[0].result.overall, result.overall, 'runs carry their results')
    t.equal(archive.runs.flatMap((r: { grades: unknown[] }) => r.grades).length, 1)
    t.match(archive.runs.flatMap((r: { grades: unknown[] }) => r.grades)[0], { score: 87, status: 'completed' })
    t.match(archive.exports, [{ format: 'json', status: 'completed', filename: 'report.json' }])
    t.notOk(res.body.includes(other.email), 'no other user’s email')
    for (const id of [other.id, ...other.workspaceIds]) t.notOk(res.body.includes(id), 'no other user’s ids')

    t.equal((await app.inject({ url: '/account/export' })).statusCode, 401, 'anonymous: 401')
    // Written after the response, as every audited read is.
    const [audited] = await waitFor(() =>
      sql`select action, user_id from app.audit_log where action = 'account.export'`.then((r) => (r.length ? r : null))
    )
    t.same(audited, { action: 'account.export', user_id: user.id }, 'a download is audited')
  })

  t.test('an empty account exports an empty archive; exports are limited per user', async (t) => {
    const user = await registerAndLogin(app)
    const first = await exportOf(user)
    t.match(first.json(), { workspaces: [], runs: [], exports: [], profile: { email: user.email } })
    const statuses = [first.statusCode]
    for (let i = 1; i <= EXPORTS_PER_HOUR; i++) statuses.push((await exportOf(user)).statusCode)
    t.same(statuses, [...Array(EXPORTS_PER_HOUR).fill(200), 429])
    const refused = await exportOf(user)
    t.equal(refused.json().code, 'APP_ERR_RATE_LIMITED')
    t.ok(Number(refused.headers['retry-after']) > 0)
    const someoneElse = await registerAndLogin(app)
    t.equal((await exportOf(someoneElse)).statusCode, 200, 'the limit is the user’s, not everyone’s')
  })

  t.test('deleting the account takes the password and removes everything of it, nothing of another’s', async (t) => {
    const user = await populated(2, 3)
    const other = await populated(2, 3)
    const second = await login(app, user.email)
    // What else an account leaves: a failed login's lockout row, tokens, a development mail.
    await app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: 'not it at all' } })
    await sql`insert into app.email_verification_tokens (token_hash, user_id, job_id, expires_at)
              values (${hashToken('verify')}, ${user.id}, gen_random_uuid(), now() + interval '1 day')`
    await sql`insert into app.password_reset_tokens (token_hash, user_id, job_id, expires_at)
              values (${hashToken('reset')}, ${user.id}, gen_random_uuid(), now() + interval '1 hour')`
    await sql`insert into app.email_outbox (to_address, subject, body) values (${user.email}, 'x', 'y')`

    const counts = async (u: TestUser) => {
      const [row] = await sql`
        select
          (select count(*) from app.users where id = ${u.id})::int as users,
          (select count(*) from app.workspaces where owner_id = ${u.id})::int as workspaces,
          (select count(*) from app.traffic_profiles p join app.workspaces w on w.id = p.workspace_id
             where w.owner_id = ${u.id})::int as profiles,
          (select count(*) from app.simulation_runs where owner_id = ${u.id})::int as runs,
          (select count(*) from app.grade_reports where owner_id = ${u.id})::int as grades,
          (select count(*) from app.report_exports where owner_id = ${u.id})::int as exports,
          (select count(*) from app.refresh_tokens where user_id = ${u.id})::int as refresh_tokens,
          (select count(*) from app.email_verification_tokens where user_id = ${u.id})::int as verification_tokens,
          (select count(*) from app.password_reset_tokens where user_id = ${u.id})::int as reset_tokens,
          (select count(*) from app.idempotency_keys where user_id = ${u.id})::int as idempotency_keys,
          (select count(*) from app.login_lockouts where email_normalized = ${u.email})::int as lockouts,
          (select count(*) from app.email_outbox where to_address = ${u.email})::int as outbox
      `
      return row
    }
    const before = await counts(user)
    t.match(before, {
      users: 1,
      workspaces: 2,
      profiles: 2,
      runs: 3,
      grades: 1,
      exports: 1,
      refresh_tokens: 2,
      verification_tokens: 1,
      reset_tokens: 1,
      idempotency_keys: 2,
      outbox: 1
    })
    t.ok(before.lockouts > 0, 'the failed login left a lockout row')
    const otherBefore = await counts(other)

    const remove = (payload: object, who: TestUser = user) =>
      app.inject({ method: 'DELETE', url: '/account', headers: bearer(who), payload })
    const wrong = await remove({ password: 'not the password' })
    t.equal(wrong.statusCode, 403)
    t.equal(wrong.json().code, 'APP_ERR_WRONG_PASSWORD')
    t.equal((await remove({})).statusCode, 400, 'the password is required')
    t.same(await counts(user), before, 'a refusal deletes nothing')

    const done = await remove({ password: PASSWORD })
    t.equal(done.statusCode, 204)
    t.match(String(done.headers['set-cookie']), /sdc_refresh=;.*Max-Age=0/, 'the browser’s session cookies are cleared')

    t.same(
      Object.values(await counts(user)).filter((n) => n !== 0),
      [],
      'nothing of the account is left'
    )
    t.same(await counts(other), otherBefore, 'nothing of another account went')
    t.equal((await exportOf(other)).json().runs.length, 3, 'the other account’s data is whole')

    for (const session of [user, second]) {
      t.equal((await app.inject({ url: '/auth/me', headers: bearer(session) })).statusCode, 401, 'sessions end')
      const refreshed = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refreshToken: session.refreshToken }
      })
      t.equal(refreshed.statusCode, 401)
    }
    const again = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: PASSWORD }
    })
    t.equal(again.statusCode, 401, 'the account is gone')

    const rows =
      await sql`select action, outcome, changes, ip_address from app.audit_log where user_id = ${user.id} order by id`
    const deleted = rows.find((r) => r.action === 'account.delete' && r.outcome === 'success')
    t.same(deleted?.changes, { workspaces: 2, runs: 3, grades: 1, exports: 1 }, 'the deletion is audited by counts')
    t.ok(rows.length >= 5, 'the account’s audit rows stay, under its id')
    const text = JSON.stringify(rows)
    t.notOk(text.toLowerCase().includes(user.email.toLowerCase()), 'none holds the email')
    t.notOk(text.includes('Test User'), 'nor the name')
    t.match(await verifyAuditChain(sql), { ok: true }, 'the audit chain still verifies')

    const back = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: user.email, password: PASSWORD, displayName: 'Back' }
    })
    t.equal(back.statusCode, 201, 'the address is free again')
  })
})
