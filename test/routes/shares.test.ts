import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { DEFAULT_TRAFFIC, type Design } from '../../src/domain/model.ts'
import { pathOf } from '../../src/paths.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('share links: made by the owner, read without a session, revoked, expired, forked', async (t) => {
  const db = await createTestDatabase(t)
  const sql = testSql(t, db.url)
  const superuser = testSql(t, superuserUrl(db.url))
  const { app } = await buildTestApp(t, db.url, ENV)
  const alice = await registerAndLogin(app)
  const bob = await registerAndLogin(app)
  const created = await postWorkspace(app, alice, {
    name: 'Alice’s shop',
    description: 'a shop',
    design: SAMPLE_DESIGN
  })
  const workspaceId = created.json().id
  const share = (user = alice, payload: object = {}) =>
    app.inject({ method: 'POST', url: `/workspaces/${workspaceId}/shares`, headers: bearer(user), payload })
  const view = (token: string) => app.inject({ url: `/shares/${token}` })

  t.test('the owner makes a link; anyone with it reads the design, never the owner', async (t) => {
    const refused = await share(bob)
    t.equal(refused.statusCode, 404, 'another user’s workspace is not found')
    t.equal(refused.json().code, 'APP_ERR_NOT_FOUND')
    const anonymous = await app.inject({ method: 'POST', url: `/workspaces/${workspaceId}/shares`, payload: {} })
    t.equal(anonymous.statusCode, 401)
    const tooLong = await share(alice, { expiresInDays: 31 })
    t.equal(tooLong.statusCode, 400, 'a link lives at most 30 days')

    const made = await share()
    t.equal(made.statusCode, 201)
    const { token, url, expiresAt } = made.json()
    t.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes')
    t.equal(url, `/shared/${token}`)
    t.ok(Math.abs(Date.parse(expiresAt) - Date.now() - 7 * 86_400_000) < 60_000, 'seven days by default')
    const [stored] = await sql`select token_hash from app.workspace_shares where workspace_id = ${workspaceId}`
    t.not(stored.token_hash, token, 'only its hash is kept')

    const read = await view(token)
    t.equal(read.statusCode, 200)
    t.equal(read.headers['referrer-policy'], 'no-referrer')
    t.equal(read.headers['cache-control'], 'no-store')
    t.match(read.json(), { name: 'Alice’s shop', design: SAMPLE_DESIGN, lastRun: null, grade: null, expiresAt })
    t.match(read.json().trafficProfile, { peakRps: Number, latencySloMs: Number })
    t.notMatch(read.body, alice.email, 'no email')
    t.notMatch(read.body, alice.id, 'no owner id')
    t.notMatch(read.body, workspaceId, 'no workspace id')
    const status = await app.inject({ url: `/workspaces/${workspaceId}/shares`, headers: bearer(alice) })
    t.same(status.json().live?.expiresAt, expiresAt)
    t.equal((await app.inject({ url: `/workspaces/${workspaceId}/shares`, headers: bearer(bob) })).statusCode, 404)

    // A completed run and its grade appear on the page.
    const result = simulateAndAnalyze(SAMPLE_DESIGN as Design, DEFAULT_TRAFFIC, 1)
    const [run] = await superuser`
      insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, result, completed_at)
      select id, owner_id, 'completed', design, '{}'::jsonb, 1,
             ${superuser.json(result as never)}, now()
      from app.workspaces where id = ${workspaceId}
      returning id
    `
    await superuser`
      insert into app.grade_reports (simulation_id, owner_id, status, score, items, completed_at)
      values (${run.id}, ${alice.id}, 'completed', 83, '[]', now())
    `
    const graded = (await view(token)).json()
    t.match(graded.lastRun, { result: { overall: { p95: result.overall.p95 } } })
    t.match(graded.grade, { score: 83, items: [] })

    for (const bad of ['x', 'A'.repeat(43)]) t.equal((await view(bad)).statusCode, 404, 'an unknown token')
  })

  t.test('a new link replaces the old; revoking ends it; an expired link is gone', async (t) => {
    const first = (await share()).json().token
    const second = (await share(alice, { expiresInDays: 1 })).json().token
    t.equal((await view(first)).statusCode, 404, 'the older link is revoked')
    t.equal((await view(second)).statusCode, 200)
    const notTheirs = await app.inject({
      method: 'DELETE',
      url: `/workspaces/${workspaceId}/shares`,
      headers: bearer(bob)
    })
    t.equal(notTheirs.statusCode, 404)
    t.equal((await view(second)).statusCode, 200, 'another user cannot revoke it')
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/workspaces/${workspaceId}/shares`,
      headers: bearer(alice)
    })
    t.equal(revoke.statusCode, 204)
    t.equal((await view(second)).statusCode, 404)
    t.equal(
      (await app.inject({ method: 'POST', url: `/shares/${second}/forks`, headers: bearer(bob), payload: {} }))
        .statusCode,
      404,
      'a revoked link forks nothing'
    )
    const third = (await share()).json().token
    await sql`update app.workspace_shares set expires_at = now() - interval '1 second' where workspace_id = ${workspaceId} and revoked_at is null`
    t.equal((await view(third)).statusCode, 404, 'expired')
    t.same((await app.inject({ url: `/workspaces/${workspaceId}/shares`, headers: bearer(alice) })).json(), {
      live: null
    })
  })

  t.test('another learner forks the shared design into a workspace of their own', async (t) => {
    const token = (await share()).json().token
    const anonymous = await app.inject({ method: 'POST', url: `/shares/${token}/forks`, payload: {} })
    t.equal(anonymous.statusCode, 401)
    const fork = await app.inject({ method: 'POST', url: `/shares/${token}/forks`, headers: bearer(bob), payload: {} })
    t.equal(fork.statusCode, 201)
    t.match(fork.json(), { name: 'Alice’s shop (fork)', design: SAMPLE_DESIGN, version: 1 })
    t.not(fork.json().id, workspaceId)
    const mine = await app.inject({ url: `/workspaces/${fork.json().id}`, headers: bearer(bob) })
    t.equal(mine.statusCode, 200, 'the fork is Bob’s')
    t.equal((await app.inject({ url: `/workspaces/${fork.json().id}`, headers: bearer(alice) })).statusCode, 404)
    const traffic = await app.inject({ url: `/workspaces/${fork.json().id}/traffic-profile`, headers: bearer(bob) })
    const theirs = await app.inject({ url: `/workspaces/${workspaceId}/traffic-profile`, headers: bearer(alice) })
    t.equal(traffic.json().peakRps, theirs.json().peakRps, 'with the traffic profile')
  })

  t.test('sharing, revoking and forking are audited; the token is in no audit row', async (t) => {
    const rows = await sql`
      select action, path, changes::text as changes, outcome
      from app.audit_log
      where action in ('workspace.share', 'workspace.unshare', 'workspace.fork')
    `
    const actions = new Set(rows.map((r) => r.action))
    t.same([...actions].sort(), ['workspace.fork', 'workspace.share', 'workspace.unshare'])
    for (const r of rows) t.notMatch(`${r.path} ${r.changes}`, /\/shares\/[A-Za-z0-9_-]{20,}/, 'no token')
    t.ok(
      rows.some((r) => r.path === '/shares/:token/forks'),
      'the route, not the token'
    )
    t.equal(pathOf('/shared/abcdef?x=1'), '/shared/:token')
    t.equal(pathOf('/workspaces/1/shares'), '/workspaces/1/shares')
  })

  t.test('an exercise attempt is shared once its reference is revealed; an assignment’s, never', async (t) => {
    const workspace = async (name: string) =>
      (await postWorkspace(app, alice, { name, design: SAMPLE_DESIGN })).json().id as string
    const shareOf = (id: string) =>
      app.inject({ method: 'POST', url: `/workspaces/${id}/shares`, headers: bearer(alice), payload: {} })
    const id = await workspace('Attempt')
    await superuser`
      insert into app.exercise_attempts (workspace_id, owner_id, exercise_slug, locked_traffic)
      values (${id}, ${alice.id}, 'pastebin', '{}')
    `
    const refused = await shareOf(id)
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().code, 'APP_ERR_FORBIDDEN')
    t.match(refused.json().message, /pastebin.*reference solution is revealed/)
    await superuser`update app.exercise_attempts set given_up_at = now() where workspace_id = ${id}`
    t.equal((await shareOf(id)).statusCode, 201, 'revealed (given up): shared')

    // A class assignment's attempt (rows made as the superuser: the classes' routes are tested elsewhere).
    const assigned = await workspace('Assignment attempt')
    const [org] =
      await superuser`insert into app.organisations (id, name) values (gen_random_uuid(), 'School') returning id`
    const [cls] = await superuser`
      insert into app.classes (organisation_id, id, name) values (${org.id}, gen_random_uuid(), 'Class') returning id
    `
    await superuser`
      insert into app.class_members (organisation_id, class_id, user_id, role)
      values (${org.id}, ${cls.id}, ${alice.id}, 'learner')
    `
    const [assignment] = await superuser`
      insert into app.assignments (organisation_id, class_id, id, exercise_slug, title, opens_at, due_at)
      values (${org.id}, ${cls.id}, gen_random_uuid(), 'pastebin', 'Pastebin', now() - interval '1 day', now() + interval '1 day')
      returning id
    `
    await superuser`
      insert into app.assignment_attempts (organisation_id, assignment_id, user_id, workspace_id)
      values (${org.id}, ${assignment.id}, ${alice.id}, ${assigned})
    `
    const never = await shareOf(assigned)
    t.equal(never.statusCode, 403)
    t.match(never.json().message, /class assignment is never shared/)
  })
})
