import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

// GET /progress: the exercises a learner attempted (attempts, best score, checks passed, hints)
// and the estimation score of each run with predictions, over time.

t.test('the learner’s progress: attempts, best score, checks, hints, estimation over time', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const auth = bearer(user)
  const first = exercises().list[0]

  t.equal((await app.inject({ url: '/progress' })).statusCode, 401, 'signed in only')
  const empty = await app.inject({ url: '/progress', headers: auth })
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { exercises: [], estimation: [] }, 'nothing yet')

  const attempt = async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/exercises/${first.slug}/attempts`,
      headers: auth,
      payload: {}
    })
    t.equal(res.statusCode, 201, 'an attempt')
    return res.json().id as string
  }
  const one = await attempt()
  const two = await attempt()
  await sql`update app.exercise_attempts set hints_revealed = 2 where workspace_id = ${one}`
  const design = first.reference.design
  const traffic = (await app.inject({ url: `/workspaces/${two}/traffic-profile`, headers: auth })).json()
  const result = simulateAndAnalyze(design as never, traffic, 4)
  /** A completed run of the attempt with these predictions, graded `score` with these checks. */
  const graded = async (workspace: string, score: number, checks: boolean[], predictions: object | null) => {
    const [run] = await sql<{ id: string }[]>`
      insert into app.simulation_runs (id, workspace_id, owner_id, status, design, traffic, seed, result, predictions, completed_at)
      values (gen_random_uuid(), ${workspace}, ${user.id}, 'completed', ${sql.json(design as never)}, ${sql.json(traffic)}, 4,
        ${sql.json(result as never)}, ${predictions === null ? null : sql.json(predictions as never)}, now())
      returning id
    `
    await sql`
      insert into app.grade_reports (id, simulation_id, owner_id, status, score, items, checks, rubric_version, completed_at)
      values (gen_random_uuid(), ${run.id}, ${user.id}, 'completed', ${score}, '[]',
        ${sql.json(checks.map((passed, i) => ({ id: `c${i}`, passed })) as never)}, 3, now())
    `
    return run.id
  }
  await graded(one, 55, [true, false, false], { maxSustainableRps: result.overall.maxSustainableRps })
  const best = await graded(two, 80, [true, true, false], { maxSustainableRps: result.overall.maxSustainableRps * 3 })

  const res = await app.inject({ url: '/progress', headers: auth })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body.exercises, [
    { slug: first.slug, title: first.title, attempts: 2, bestScore: 80, checksPassed: 2, checksTotal: 3, hintsUsed: 2 }
  ])
  t.same(
    body.estimation.map((e: { score: number }) => e.score),
    [100, 0],
    'each run with predictions, oldest first: right, then wrong'
  )
  t.equal(body.estimation[1].runId, best)
  const theirs = await app.inject({ url: '/progress', headers: bearer(other) })
  t.same(theirs.json(), { exercises: [], estimation: [] }, 'another learner sees only their own')
})
