import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { RUBRIC_VERSION } from '../../src/domain/grading.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

// Results that know their age: a run compares the design and profile it ran with, and the model
// that computed it, with the workspace now; a grade adds its rubric. Each kind, one at a time.

const TRAFFIC = { peakRps: 300, readRatio: 0.9, payloadKb: 4, latencySloMs: 200 }

t.test('a run and its grade say when the design, the profile, the model or the rubric changed since', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, { FLAG_GRADING: 'true' })
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const ws = (await postWorkspace(app, user, { name: 'Age', design: SAMPLE_DESIGN, trafficProfile: TRAFFIC })).json()
  const result = simulateAndAnalyze(SAMPLE_DESIGN, TRAFFIC, 3)

  /** A run of the workspace as it is now, completed with `stored` as its result. */
  const simulate = async (stored: object = result) => {
    const queued = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/simulations`,
      headers: auth,
      payload: { seed: 3 }
    })
    t.equal(queued.statusCode, 202, 'a run is queued')
    const id = queued.json().id
    await sql`update app.simulation_runs set status = 'completed', result = ${sql.json(stored as never)}, completed_at = now() where id = ${id}`
    return id as string
  }
  const age = async (id: string) => {
    const res = await app.inject({ url: `/simulations/${id}`, headers: auth })
    t.equal(res.statusCode, 200, 'the run is answered')
    return { stale: res.json().stale, staleBecause: res.json().staleBecause }
  }
  const editDesign = async (change: (d: typeof SAMPLE_DESIGN) => void) => {
    const current = (await app.inject({ url: `/workspaces/${ws.id}`, headers: auth })).json()
    const design = structuredClone(current.design)
    change(design)
    const res = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: current.version, design }
    })
    t.equal(res.statusCode, 200, 'the design is saved')
  }

  const run = await simulate()
  t.same(await age(run), { stale: false, staleBecause: [] }, 'fresh: nothing changed')

  await editDesign((d) => {
    d.components[2].x = 400
    d.components[2].name = 'The api'
  })
  t.same(await age(run), { stale: false, staleBecause: [] }, 'moving or renaming a box changes nothing the model reads')

  await editDesign((d) => {
    d.components[2].instances = 5
  })
  t.same(await age(run), { stale: true, staleBecause: ['design'] }, 'an instance count: the design changed')

  const second = await simulate()
  t.same(await age(second), { stale: false, staleBecause: [] }, 'a run of the new design is current')
  const profile = await app.inject({ url: `/workspaces/${ws.id}/traffic-profile`, headers: auth })
  const patched = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${ws.id}/traffic-profile`,
    headers: auth,
    payload: { version: profile.json().version, peakRps: 900 }
  })
  t.equal(patched.statusCode, 200, 'the profile is saved')
  t.same(await age(second), { stale: true, staleBecause: ['traffic'] }, 'the peak: the profile changed')
  t.same(await age(run), { stale: true, staleBecause: ['design', 'traffic'] }, 'both, for the first run')

  const old = await simulate({ ...result, modelVersion: undefined })
  t.same(await age(old), { stale: true, staleBecause: ['model'] }, 'a result from before the model’s version')

  const list = await app.inject({ url: `/workspaces/${ws.id}/simulations`, headers: auth })
  const listed = new Map(list.json().items.map((r: { id: string; staleBecause: string[] }) => [r.id, r.staleBecause]))
  t.same(listed.get(run), ['design', 'traffic'], 'the list says the same')
  t.same(listed.get(old), ['model'])

  // A stale run may be graded; its grade says it is stale. A grade by an older rubric is too.
  const graded = await app.inject({ method: 'POST', url: `/simulations/${run}/grade`, headers: auth, payload: {} })
  t.equal(graded.statusCode, 202, 'grading a stale run is allowed')
  const gradeOf = async (simulation: string, rubric: number) => {
    const [g] = await sql<{ id: string }[]>`
      insert into app.grade_reports (id, simulation_id, owner_id, status, score, items, rubric_version, completed_at)
      values (gen_random_uuid(), ${simulation}, ${user.id}, 'completed', 50, '[]', ${rubric}, now())
      returning id
    `
    const res = await app.inject({ url: `/grades/${g.id}`, headers: auth })
    t.equal(res.statusCode, 200, 'the grade is answered')
    return res.json().staleBecause
  }
  t.same(await gradeOf(run, RUBRIC_VERSION), ['design', 'traffic'], 'a grade of a stale run is stale')
  const current = await simulate()
  t.same(await gradeOf(current, RUBRIC_VERSION), [], 'a current grade of a current run')
  t.same(await gradeOf(current, RUBRIC_VERSION - 1), ['rubric'], 'an older rubric')
})
