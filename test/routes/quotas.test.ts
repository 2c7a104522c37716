import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

t.test('per-user quotas', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, {
    RATE_LIMIT_MAX_REQUESTS: '100000',
    QUOTA_ACTIVE_RUNS: '2',
    QUOTA_RUNS_PER_DAY: '3',
    QUOTA_STORED_RUNS: '4',
    QUOTA_WORKSPACES: '2',
    QUOTA_EXPORTS_PER_DAY: '1'
  })
  const owner = await registerAndLogin(app)
  const auth = bearer(owner)
  const create = (name: string, headers = auth) =>
    app.inject({ method: 'POST', url: '/workspaces', headers, payload: { name, design: SAMPLE_DESIGN } })
  const ws = (await create('one')).json()
  const run = () => app.inject({ method: 'POST', url: `/workspaces/${ws.id}/simulations`, headers: auth, payload: {} })
  const countRuns = async () => (await sql`select count(*)::int as n from app.simulation_runs`)[0].n

  t.test('at most N runs queued or running: 429 with Retry-After, nothing stored', async (t) => {
    t.equal((await run()).statusCode, 202)
    t.equal((await run()).statusCode, 202)
    const refused = await run()
    t.equal(refused.statusCode, 429)
    t.match(refused.json(), { code: 'APP_ERR_QUOTA_EXCEEDED', message: /At most 2 runs may be queued or running/ })
    t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After is set')
    t.equal(await countRuns(), 2, 'the refused run left no row')
    t.equal((await sql`select count(*)::int as n from pgboss.job where name = 'simulation'`)[0].n, 2, 'and no job')
  })

  t.test('a daily quota counts finished runs too', async (t) => {
    await sql`update app.simulation_runs set status = 'completed'`
    t.equal((await run()).statusCode, 202, 'the third run of the day')
    await sql`update app.simulation_runs set status = 'completed'`
    const refused = await run()
    t.equal(refused.statusCode, 429)
    t.match(refused.json().message, /At most 3 runs a day/)
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter > 86_000 && retryAfter <= 86_400, `frees when the oldest run is a day old (${retryAfter} s)`)
  })

  t.test('stored runs are a 403 once the day has passed', async (t) => {
    await sql`update app.simulation_runs set created_at = now() - interval '2 days'`
    t.equal((await run()).statusCode, 202, 'the fourth stored run')
    await sql`update app.simulation_runs set status = 'completed'`
    const refused = await run()
    t.equal(refused.statusCode, 403)
    t.match(refused.json(), { code: 'APP_ERR_QUOTA_REACHED', message: /At most 4 stored runs/ })
  })

  t.test('stored runs are counted by triggers: a deleted workspace gives its runs back', async (t) => {
    const counted = async () =>
      (await sql`select stored from app.user_run_counts where owner_id = ${owner.id}`)[0]?.stored
    t.equal(await counted(), await countRuns(), 'the counter agrees with the rows')
    const other = (await create('spare')).json()
    await sql`insert into app.simulation_runs (id, workspace_id, owner_id, design, traffic, seed)
      select gen_random_uuid(), ${other.id}, owner_id, design, traffic, seed from app.simulation_runs limit 2`
    t.equal(await counted(), 6, 'a statement that inserts two runs counts two')
    const del = await app.inject({ method: 'DELETE', url: `/workspaces/${other.id}`, headers: auth })
    t.equal(del.statusCode, 204)
    t.equal(await counted(), 4, 'the cascade took its two runs off the count')
    t.equal((await run()).statusCode, 403, 'and the quota still holds at four')
  })

  t.test('workspaces: at most N per user, others unaffected', async (t) => {
    t.equal((await create('two')).statusCode, 201)
    const refused = await create('three')
    t.equal(refused.statusCode, 403)
    t.match(refused.json(), { code: 'APP_ERR_QUOTA_REACHED', message: /At most 2 workspaces/ })
    const other = bearer(await registerAndLogin(app))
    t.equal((await create('theirs', other)).statusCode, 201, 'another user has quota of their own')
  })

  t.test('exports a day', async (t) => {
    const exp = () =>
      app.inject({ method: 'POST', url: `/workspaces/${ws.id}/exports`, headers: auth, payload: { format: 'json' } })
    t.equal((await exp()).statusCode, 202)
    const refused = await exp()
    t.equal(refused.statusCode, 429)
    t.match(refused.json().message, /At most 1 exports a day/)
  })

  t.test('concurrent requests cannot both take the last slot', async (t) => {
    const fresh = bearer(await registerAndLogin(app))
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => create(`race ${i}`, fresh).then((r) => r.statusCode))
    )
    t.same(results.sort(), [201, 201, 403, 403, 403, 403], 'exactly the quota is created')
  })
})
