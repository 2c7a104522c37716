import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

// Predict, then simulate: a run asked for with predictions answers each scored; its grade shows
// the estimation score beside the total.

const TRAFFIC = { peakRps: 300, readRatio: 0.9, payloadKb: 4, latencySloMs: 200 }

t.test('predictions are kept with the run, scored in its result and beside its grade', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const ws = (await postWorkspace(app, user, { name: 'Guess', design: SAMPLE_DESIGN, trafficProfile: TRAFFIC })).json()
  const result = simulateAndAnalyze(SAMPLE_DESIGN, TRAFFIC, 9)
  const post = (payload: object) =>
    app.inject({ method: 'POST', url: `/workspaces/${ws.id}/simulations`, headers: auth, payload })

  const refused = await post({ predictions: { p95Ms: -5 } })
  t.equal(refused.statusCode, 400, 'a negative p95 is refused')
  t.equal(refused.json().code, 'APP_ERR_VALIDATION')
  t.equal((await post({ predictions: { p99: 5 } })).statusCode, 400, 'an unknown prediction is refused')

  const predictions = {
    p95Ms: (result.overall.p95 as number) * 1.2,
    bottleneck: 'db',
    maxSustainableRps: result.overall.maxSustainableRps
  }
  const queued = await post({ seed: 9, predictions })
  t.equal(queued.statusCode, 202, 'accepted')
  const id = queued.json().id
  const before = await app.inject({ url: `/simulations/${id}`, headers: auth })
  t.equal(before.json().predictions, null, 'nothing to score against before the result')
  await sql`update app.simulation_runs set status = 'completed', result = ${sql.json(result as never)}, completed_at = now() where id = ${id}`

  const run = (await app.inject({ url: `/simulations/${id}`, headers: auth })).json()
  t.match(run.predictions, {
    p95Ms: { predicted: predictions.p95Ms, actual: result.overall.p95, correct: true, error: 0.2 },
    bottleneck: { predicted: 'db', actual: 'api', correct: false },
    maxSustainableRps: { correct: true, error: 0 },
    score: 67
  })

  const [grade] = await sql<{ id: string }[]>`
    insert into app.grade_reports (id, simulation_id, owner_id, status, score, items, rubric_version, completed_at)
    values (gen_random_uuid(), ${id}, ${user.id}, 'completed', 80, '[]', 3, now())
    returning id
  `
  const graded = (await app.inject({ url: `/grades/${grade.id}`, headers: auth })).json()
  t.equal(graded.score, 80, 'the total is the rubric’s alone')
  t.equal(graded.estimation, 67, 'the estimation score beside it')

  const plain = await post({ seed: 9 })
  const none = (await app.inject({ url: `/simulations/${plain.json().id}`, headers: auth })).json()
  t.equal(none.predictions, null, 'skipping the predictions costs nothing')
})
