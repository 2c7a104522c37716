import { randomUUID } from 'node:crypto'
import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

// GET /simulations/:id/explain: a completed run's figure, recomputed from its design, profile and seed.

const TRAFFIC = { peakRps: 300, readRatio: 0.9, payloadKb: 4, latencySloMs: 200 }

t.test('a run’s figures explain themselves; other answers are refused with a reason', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const ws = (
    await postWorkspace(app, user, { name: 'Explain', design: SAMPLE_DESIGN, trafficProfile: TRAFFIC })
  ).json()
  const result = simulateAndAnalyze(SAMPLE_DESIGN, TRAFFIC, 5)
  const store = async (status: string, stored: unknown) => {
    const id = randomUUID()
    await sql`
      insert into app.simulation_runs ${sql({
        id,
        workspace_id: ws.id,
        owner_id: user.id,
        status,
        design: SAMPLE_DESIGN as never,
        traffic: TRAFFIC as never,
        seed: 5,
        result: stored as never
      })}
    `
    return id
  }
  const done = await store('completed', result)
  const ask = (id: string, query: string, who = user) =>
    app.inject({ url: `/simulations/${id}/explain${query}`, headers: bearer(who) })

  const db = await ask(done, '?component=db')
  t.equal(db.statusCode, 200, db.body)
  t.equal(db.json().kind, 'component')
  t.same(
    db.json().stations.map((s: { station: string }) => s.station),
    ['db:primary', 'db:replica-1']
  )
  t.equal(db.json().meanLatencyMs, result.components.find((c) => c.id === 'db')?.meanLatencyMs, 'its mean is the run’s')

  const overall = await ask(done, '?figure=overall')
  t.equal(overall.statusCode, 200, overall.body)
  t.match(overall.json(), { kind: 'overall', percentiles: { seed: 5, p95: result.overall.p95 } })
  t.equal(overall.json().ceiling.maxSustainableRps, result.overall.maxSustainableRps)

  const both = await ask(done, '?component=db&figure=overall')
  t.equal(both.statusCode, 400)
  t.equal(both.json().code, 'APP_ERR_VALIDATION')
  t.equal((await ask(done, '')).statusCode, 400, 'one of the two is needed')
  t.equal((await ask(done, '?figure=p95')).statusCode, 400, 'only overall is a figure')
  const unknown = await ask(done, '?component=nope')
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'APP_ERR_NOT_FOUND')
  t.equal((await ask(done, '?component=db', other)).statusCode, 404, 'another user’s run is not found')
  const queued = await ask(await store('queued', null), '?component=db')
  t.equal(queued.statusCode, 409, 'a run without its result has nothing to explain yet')
  t.equal(queued.json().code, 'APP_ERR_CONFLICT')
})
