import t from 'tap'
import * as grading from '../../jobs/grading.ts'
import { applyRetention } from '../../jobs/maintenance.ts'
import * as simulation from '../../jobs/simulation.ts'
import { trafficOf } from '../../src/domain/exercises.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, createAdmin, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000', QUOTA_ACTIVE_RUNS: '1000' }
const job = (data: object) => ({ data, signal: new AbortController().signal }) as never

t.test('exercises and attempts', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const root = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, ENV)
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const admin = await createAdmin(app)
  const auth = bearer(user)
  const first = exercises().list[0]
  const simulate = simulation.createHandler(sql)
  const gradeJob = grading.createHandler(sql)

  /** A completed run of the workspace's current design, computed by the simulation job's handler. */
  async function run(workspaceId: string) {
    const res = await app.inject({
      method: 'POST',
      url: `/workspaces/${workspaceId}/simulations`,
      headers: auth,
      payload: { seed: 3 }
    })
    t.equal(res.statusCode, 202)
    const done = await simulate(job({ runId: res.json().id, ownerId: user.id }))
    t.match(done, { stored: true }, 'the run completed')
    return res.json().id as string
  }
  async function setDesign(workspaceId: string, design: object) {
    const current = (await app.inject({ url: `/workspaces/${workspaceId}`, headers: auth })).json()
    const res = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${workspaceId}`,
      headers: auth,
      payload: { version: current.version, design }
    })
    t.equal(res.statusCode, 200, res.body)
  }

  t.test('lists the exercises to anyone, in order, without their references', async (t) => {
    const res = await app.inject({ url: '/exercises' })
    t.equal(res.statusCode, 200)
    const items = res.json().items
    t.ok(items.length >= 12, `${items.length} exercises`)
    t.match(items[0], {
      slug: first.slug,
      difficulty: 'beginner',
      requirements: { peakRps: Number, p95Ms: Number, p99Ms: Number, budgetPerMonth: Number, drills: Array },
      hintCosts: Array,
      bestScore: null,
      attempts: 0
    })
    t.notOk('reference' in items[0], 'no reference in the list')
    t.notOk(res.body.includes(JSON.stringify(first.reference.explanation)), 'nor its explanation')
    const one = await app.inject({ url: `/exercises/${first.slug}` })
    t.equal(one.statusCode, 200)
    t.match(one.json(), { slug: first.slug, statement: first.statement, referenceAvailable: false })
    const missing = await app.inject({ url: '/exercises/no-such-exercise' })
    t.equal(missing.statusCode, 404)
    t.equal(missing.json().code, 'APP_ERR_NOT_FOUND')
    const bad = await app.inject({ url: '/exercises/Not_A_Slug!' })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().code, 'APP_ERR_VALIDATION')
  })

  let attemptId = ''
  let plainId = ''
  t.test('starts an attempt: a workspace with the requirements as its locked traffic profile', async (t) => {
    const anonymous = await app.inject({ method: 'POST', url: `/exercises/${first.slug}/attempts`, payload: {} })
    t.equal(anonymous.statusCode, 401)
    const unknown = await app.inject({
      method: 'POST',
      url: '/exercises/no-such-exercise/attempts',
      headers: auth,
      payload: {}
    })
    t.equal(unknown.statusCode, 404)
    const badName = await app.inject({
      method: 'POST',
      url: `/exercises/${first.slug}/attempts`,
      headers: auth,
      payload: { name: '' }
    })
    t.equal(badName.statusCode, 400)
    const res = await app.inject({
      method: 'POST',
      url: `/exercises/${first.slug}/attempts`,
      headers: auth,
      payload: {}
    })
    t.equal(res.statusCode, 201)
    attemptId = res.json().id
    t.equal(res.headers.location, `/workspaces/${attemptId}`)
    t.match(res.json(), { exerciseSlug: first.slug, name: first.title, trafficProfile: trafficOf(first.requirements) })
    const traffic = await app.inject({ url: `/workspaces/${attemptId}/traffic-profile`, headers: auth })
    t.match(traffic.json(), { ...trafficOf(first.requirements), version: 1 })
    const [audit] = await sql`select action from app.audit_log where resource_id = ${attemptId}`
    t.equal(audit.action, 'exercise.attempt', 'audited')
  })

  t.test('a PATCH that changes a requirement answers 422 APP_ERR_REQUIREMENT_LOCKED', async (t) => {
    const patch = (who: Record<string, string>, payload: object) =>
      app.inject({ method: 'PATCH', url: `/workspaces/${attemptId}/traffic-profile`, headers: who, payload })
    const locked = await patch(auth, { version: 1, peakRps: first.requirements.peakRps * 2 })
    t.equal(locked.statusCode, 422)
    t.equal(locked.json().code, 'APP_ERR_REQUIREMENT_LOCKED')
    t.match(locked.json().message, /peakRps is a requirement/)
    t.equal((await patch(auth, { version: 1, budgetPerMonth: null })).statusCode, 422, 'removing the budget too')
    const same = await patch(auth, { version: 1, peakRps: first.requirements.peakRps })
    t.equal(same.statusCode, 200, 'the same value passes')
    t.equal((await patch(bearer(other), { version: 2, peakRps: 1 })).statusCode, 404, 'another user: 404, not 422')
    const plain = await postWorkspace(app, user, { name: 'free', design: SAMPLE_DESIGN })
    plainId = plain.json().id
    const free = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${plainId}/traffic-profile`,
      headers: auth,
      payload: { version: 1, peakRps: 5 }
    })
    t.equal(free.statusCode, 200, 'a workspace that is no attempt is not locked')
  })

  t.test('reveals hints one level at a time, each with its cost', async (t) => {
    const hint = (who: Record<string, string>) =>
      app.inject({ method: 'POST', url: `/workspaces/${attemptId}/hints`, headers: who, payload: {} })
    t.equal((await hint(bearer(other))).statusCode, 404, 'another user’s attempt is a 404')
    t.equal((await app.inject({ method: 'POST', url: `/workspaces/${attemptId}/hints`, payload: {} })).statusCode, 401)
    const res = await hint(auth)
    t.equal(res.statusCode, 200)
    t.same(res.json(), {
      level: 1,
      text: first.hints[0].text,
      cost: first.hints[0].cost,
      hintPoints: first.hints[0].cost,
      hintsLeft: first.hints.length - 1
    })
    const attempt = await app.inject({ url: `/workspaces/${attemptId}/attempt`, headers: auth })
    t.equal(attempt.statusCode, 200)
    t.match(attempt.json().attempt, {
      hintPoints: first.hints[0].cost,
      hints: [{ level: 1, text: first.hints[0].text }]
    })
    const none = await app.inject({ url: `/workspaces/${plainId}/attempt`, headers: auth })
    t.same(none.json(), { attempt: null }, 'a plain workspace is no attempt')
    t.equal((await app.inject({ url: `/workspaces/${attemptId}/attempt`, headers: bearer(other) })).statusCode, 404)
    const [audit] = await sql`
      select action from app.audit_log where action = 'exercise.hint' and resource_id = ${attemptId}
    `
    t.equal(audit?.action, 'exercise.hint', 'audited')
  })

  let gradeId = ''
  t.test('submit grades the newest completed run: the checks first, less the hint points', async (t) => {
    const submit = (who: Record<string, string>, id = attemptId) =>
      app.inject({ method: 'POST', url: `/workspaces/${id}/submit`, headers: who, payload: {} })
    const early = await submit(auth)
    t.equal(early.statusCode, 409, 'no run yet')
    t.match(early.json().message, /Run a simulation/)
    // A single service: it fails a failure drill.
    await setDesign(attemptId, {
      components: [
        { id: 'users', type: 'client' },
        { id: 'app', type: 'service', instances: 1, concurrency: 8, serviceTimeMs: 20 }
      ],
      links: [{ from: 'users', to: 'app' }]
    })
    const failing = await run(attemptId)
    const measured = (await app.inject({ url: `/simulations/${failing}`, headers: auth })).json().result.checks
    t.match(
      measured.find((c: { id: string }) => c.id === 'drill_instance'),
      { passed: false, measured: null },
      'the run carries its checks: the drill fails'
    )
    t.equal((await submit(bearer(other))).statusCode, 404, 'another user’s attempt is a 404')
    const res = await submit(auth)
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), {
      id: String,
      workspaceId: attemptId,
      exerciseSlug: first.slug,
      hintPoints: 5,
      submittedAt: String
    })
    gradeId = res.json().gradeId
    await gradeJob(job({ gradeId, ownerId: user.id }))
    const grade = (await app.inject({ url: `/grades/${gradeId}`, headers: auth })).json()
    t.equal(grade.status, 'completed')
    t.equal(grade.hintPoints, first.hints[0].cost)
    t.ok(grade.checks.length >= 4)
    t.match(grade.checks[0], { id: 'p95_at_peak', passed: Boolean, required: first.requirements.p95Ms, unit: 'ms' })
    const drill = grade.checks.find((c: { id: string }) => c.id === 'drill_instance')
    t.match(drill, { passed: false, measured: null, detail: /app's instance is lost/ })
    t.ok(grade.items.length >= 6, 'the rubric’s items follow')
    const rubric = grade.items.reduce((s: number, i: { points: number }) => s + i.points, 0)
    const max = grade.items.reduce((s: number, i: { maxPoints: number }) => s + i.maxPoints, 0)
    t.equal(grade.score, Math.max(0, Math.round((100 * rubric) / max) - first.hints[0].cost), 'the hints cost points')

    // The reference passes every check.
    await setDesign(attemptId, first.reference.design)
    await run(attemptId)
    const again = await submit(auth)
    await gradeJob(job({ gradeId: again.json().gradeId, ownerId: user.id }))
    const passing = (await app.inject({ url: `/grades/${again.json().gradeId}`, headers: auth })).json()
    t.same(
      passing.checks.filter((c: { passed: boolean }) => !c.passed),
      [],
      'the reference passes every check'
    )
    const [audit] = await sql`select action from app.audit_log where resource_id = ${again.json().id}`
    t.equal(audit.action, 'exercise.submit')
  })

  t.test('the reference: 404 until a graded attempt or a give-up; admins always', async (t) => {
    const reference = (who: Record<string, string>) =>
      app.inject({ url: `/exercises/${first.slug}/reference`, headers: who })
    const mine = await reference(auth)
    t.equal(mine.statusCode, 200)
    t.same(mine.json(), { slug: first.slug, design: first.reference.design, explanation: first.reference.explanation })
    t.equal((await reference(bearer(other))).statusCode, 404, 'not before an attempt')
    t.equal((await app.inject({ url: `/exercises/${first.slug}/reference` })).statusCode, 401)
    t.equal((await reference(bearer(admin))).statusCode, 200, 'an admin sees it')
    const theirs = await app.inject({
      method: 'POST',
      url: `/exercises/${first.slug}/attempts`,
      headers: bearer(other),
      payload: {}
    })
    t.equal((await reference(bearer(other))).statusCode, 404, 'an ungraded attempt is not enough')
    const mineToGiveUp = await app.inject({
      method: 'POST',
      url: `/workspaces/${theirs.json().id}/give-up`,
      headers: auth,
      payload: {}
    })
    t.equal(mineToGiveUp.statusCode, 404, 'nobody gives up another’s attempt')
    const gaveUp = await app.inject({
      method: 'POST',
      url: `/workspaces/${theirs.json().id}/give-up`,
      headers: bearer(other),
      payload: {}
    })
    t.equal(gaveUp.statusCode, 200)
    t.match(gaveUp.json(), { workspaceId: theirs.json().id, givenUpAt: String })
    t.equal((await reference(bearer(other))).statusCode, 200, 'after a give-up')
    const detail = await app.inject({ url: `/exercises/${first.slug}`, headers: bearer(other) })
    t.equal(detail.json().referenceAvailable, true)
  })

  t.test('signed in, the list and the attempts carry the caller’s best score', async (t) => {
    const list = (await app.inject({ url: '/exercises', headers: auth })).json().items
    t.ok(list[0].bestScore > 0, `best score ${list[0].bestScore}`)
    t.equal(list[0].attempts, 1)
    t.equal(list[1].bestScore, null)
    const attempts = await app.inject({ url: `/exercises/${first.slug}/attempts`, headers: auth })
    t.equal(attempts.statusCode, 200)
    t.match(attempts.json().items, [{ workspaceId: attemptId, bestScore: list[0].bestScore, submissions: Array }])
    t.equal(attempts.json().items[0].submissions.length, 2)
    t.equal((await app.inject({ url: `/exercises/${first.slug}/attempts` })).statusCode, 401)
    const none = await app.inject({ url: `/exercises/${first.slug}/attempts`, headers: bearer(admin) })
    t.same(none.json().items, [], 'another caller sees none of them')
  })

  t.test('retention keeps the runs a submission refers to', async (t) => {
    const submitted = await sql`select simulation_id from app.exercise_submissions where workspace_id = ${attemptId}`
    const old = await run(attemptId)
    const newest = await run(attemptId)
    const result = await applyRetention(sql, { exportDays: 30, runsPerWorkspace: 1 })
    t.ok(result.runsExpired >= 1)
    const left = await root`select id from app.simulation_runs where workspace_id = ${attemptId}`
    const ids = left.map((r) => r.id)
    t.equal(submitted.length, 2)
    for (const s of submitted) t.ok(ids.includes(s.simulation_id), `submitted run ${s.simulation_id} kept`)
    t.ok(ids.includes(newest), 'the newest run kept')
    t.notOk(ids.includes(old), 'an older run nothing refers to is deleted')
  })
})
