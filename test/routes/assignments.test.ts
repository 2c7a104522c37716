import t from 'tap'
import * as grading from '../../jobs/grading.ts'
import * as simulation from '../../jobs/simulation.ts'
import { exercises } from '../../src/exercises/index.ts'
import { ASSIGNMENT_ROUTE_RULES } from '../../src/routes/classes/assignments.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin, type TestUser } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000', QUOTA_ACTIVE_RUNS: '1000' }
const job = (data: object) => ({ data, signal: new AbortController().signal }) as never
const DAY = 86_400_000

t.test('an instructor assigns an exercise and sees where the class struggles', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, ENV)
  const simulate = simulation.createHandler(sql)
  const gradeJob = grading.createHandler(sql)
  const call = (user: TestUser | null, method: string, path: string, payload?: object) =>
    app.inject({
      method: method as 'GET',
      url: path,
      headers: user ? bearer(user) : {},
      ...(payload ? { payload } : {})
    })
  const first = exercises().list[0]

  const instructor = await registerAndLogin(app)
  const org = (await call(instructor, 'POST', '/orgs', { name: 'School' })).json()
  const cls = (await call(instructor, 'POST', '/classes', { organisationId: org.id, name: 'Class' })).json()
  const { code } = (await call(instructor, 'POST', `/classes/${cls.id}/join-codes`, {})).json()
  const [ada, bob] = [await registerAndLogin(app), await registerAndLogin(app)]
  for (const l of [ada, bob]) t.equal((await call(l, 'POST', '/classes/join', { code })).statusCode, 200)
  // Another organisation's instructor and learner.
  const stranger = await registerAndLogin(app)
  const otherOrg = (await call(stranger, 'POST', '/orgs', { name: 'Elsewhere' })).json()
  await call(stranger, 'POST', '/classes', { organisationId: otherOrg.id, name: 'Other' })

  const tooBig = await call(instructor, 'POST', `/classes/${cls.id}/assignments`, {
    exerciseSlug: first.slug,
    dueAt: new Date(Date.now() + DAY).toISOString(),
    scale: 100
  })
  t.equal(tooBig.statusCode, 422, 'a scale the reference cannot carry is refused')
  t.match(tooBig.json().problems[0], { path: '/scale' })
  t.equal(
    (
      await call(ada, 'POST', `/classes/${cls.id}/assignments`, {
        exerciseSlug: first.slug,
        dueAt: new Date().toISOString()
      })
    ).statusCode,
    403,
    'a learner cannot assign'
  )

  // Opened two days ago, due yesterday: every submission is late. At twice the exercise's scale, no hints.
  const created = await call(instructor, 'POST', `/classes/${cls.id}/assignments`, {
    exerciseSlug: first.slug,
    title: 'Week 1',
    opensAt: new Date(Date.now() - 2 * DAY).toISOString(),
    dueAt: new Date(Date.now() - DAY).toISOString(),
    hintsAllowed: false,
    scale: 2
  })
  t.equal(created.statusCode, 201, created.body)
  const assignment = created.json()
  t.equal(assignment.requirements.peakRps, first.requirements.peakRps * 2)

  const listed = (await call(ada, 'GET', `/classes/${cls.id}/assignments`)).json().items
  t.match(listed, [{ id: assignment.id, status: 'not_started', hintsAllowed: false }])
  t.equal((await call(stranger, 'GET', `/classes/${cls.id}/assignments`)).statusCode, 404)

  const started = await call(ada, 'POST', `/assignments/${assignment.id}/attempts`)
  t.equal(started.statusCode, 201, started.body)
  const workspaceId = started.json().id
  t.equal(started.headers.location, `/workspaces/${workspaceId}`)
  t.equal((await call(ada, 'POST', `/assignments/${assignment.id}/attempts`)).statusCode, 409, 'one attempt each')
  t.equal((await call(stranger, 'POST', `/assignments/${assignment.id}/attempts`)).statusCode, 404)
  const traffic = (await call(ada, 'GET', `/workspaces/${workspaceId}/traffic-profile`)).json()
  t.equal(traffic.peakRps, first.requirements.peakRps * 2, 'the attempt carries the assignment’s scale')
  const hint = await call(ada, 'POST', `/workspaces/${workspaceId}/hints`, {})
  t.equal(hint.statusCode, 403, 'hints are off')
  t.equal(hint.json().code, 'APP_ERR_FORBIDDEN')
  t.equal((await call(bob, 'POST', `/assignments/${assignment.id}/attempts`)).statusCode, 201)

  // Ada submits a single service: it fails the instance drill, and it is the bottleneck.
  const current = (await call(ada, 'GET', `/workspaces/${workspaceId}`)).json()
  const patched = await call(ada, 'PATCH', `/workspaces/${workspaceId}`, {
    version: current.version,
    design: {
      components: [
        { id: 'users', type: 'client' },
        { id: 'app', type: 'service', instances: 1, concurrency: 8, serviceTimeMs: 20 }
      ],
      links: [{ from: 'users', to: 'app' }]
    }
  })
  t.equal(patched.statusCode, 200, patched.body)
  const run = await call(ada, 'POST', `/workspaces/${workspaceId}/simulations`, { seed: 3 })
  await simulate(job({ runId: run.json().id, ownerId: ada.id }))
  const submitted = await call(ada, 'POST', `/workspaces/${workspaceId}/submit`, {})
  t.equal(submitted.statusCode, 201, submitted.body)
  await gradeJob(job({ gradeId: submitted.json().gradeId, ownerId: ada.id }))
  const grade = (await call(ada, 'GET', `/grades/${submitted.json().gradeId}`)).json()
  t.match(
    grade.checks[0].title,
    new RegExp(`at ${first.requirements.peakRps * 2} rps`),
    'graded against the assignment’s numbers'
  )

  const results = await call(instructor, 'GET', `/assignments/${assignment.id}/results`)
  t.equal(results.statusCode, 200, results.body)
  const r = results.json()
  t.match(r, { learners: 2, started: 2, submitted: 1, late: 1, passed: 0 })
  t.equal(
    r.scores.distribution.reduce((s: number, b: { count: number }) => s + b.count, 0),
    1
  )
  t.ok(
    r.mostFailedChecks.some((c: { id: string; failed: number }) => c.id === 'drill_instance' && c.failed === 1),
    'the failed drill is counted'
  )
  t.same(r.typicalBottleneck, { component: 'app', learners: 1 })
  t.match(
    r.items.find((i: { userId: string }) => i.userId === ada.id),
    { status: 'late', passed: false }
  )
  t.match(
    r.items.find((i: { userId: string }) => i.userId === bob.id),
    { status: 'started', score: null }
  )

  const csv = await call(instructor, 'GET', `/assignments/${assignment.id}/results.csv`)
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trim().split('\n')
  t.equal(lines[0], 'name,email,status,score,passed,failed_checks,bottleneck')
  t.equal(lines.length, 3)

  const attempt = await call(instructor, 'GET', `/assignments/${assignment.id}/attempts/${ada.id}`)
  t.equal(attempt.statusCode, 200, attempt.body)
  t.match(attempt.json(), { workspaceId, runs: [{ status: 'completed', grade: { checks: Array } }] })
  // The instructor reads the attempt, never change it, nor any other workspace of Ada's.
  const personal = (await call(ada, 'POST', '/workspaces', { name: 'mine', design: SAMPLE_DESIGN })).json()
  t.equal((await call(instructor, 'GET', `/workspaces/${personal.id}`)).statusCode, 404)
  t.equal(
    (await call(instructor, 'GET', `/workspaces/${workspaceId}`)).statusCode,
    404,
    'not through the owner’s routes'
  )

  // The rules of the route list: a learner of the class 403 on the instructor's routes, strangers 404.
  const paths: Record<string, string> = {
    'POST /classes/:id/assignments': `/classes/${cls.id}/assignments`,
    'GET /classes/:id/assignments': `/classes/${cls.id}/assignments`,
    'POST /assignments/:id/attempts': `/assignments/${assignment.id}/attempts`,
    'GET /assignments/:id/results': `/assignments/${assignment.id}/results`,
    'GET /assignments/:id/results.csv': `/assignments/${assignment.id}/results.csv`,
    'GET /assignments/:id/attempts/:userId': `/assignments/${assignment.id}/attempts/${ada.id}`
  }
  const declared = app.routeTable
    .filter((route) => route.url.includes('assignments'))
    .map((route) => `${route.method} ${route.url}`)
  t.same(declared.sort(), Object.keys(ASSIGNMENT_ROUTE_RULES).sort(), 'every assignment route has a rule')
  const body = { exerciseSlug: first.slug, dueAt: new Date(Date.now() + DAY).toISOString() }
  for (const [key, rule] of Object.entries(ASSIGNMENT_ROUTE_RULES)) {
    const [method] = key.split(' ')
    const payload = method === 'POST' ? body : undefined
    t.equal((await call(null, method, paths[key], payload)).statusCode, 401, `${key}: anonymous 401`)
    t.equal((await call(stranger, method, paths[key], payload)).statusCode, 404, `${key}: another organisation 404`)
    if (rule === 'instructor')
      t.equal((await call(bob, method, paths[key], payload)).statusCode, 403, `${key}: a learner 403`)
  }
})
