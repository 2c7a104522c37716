import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { TSchema } from 'typebox'
import { advise } from '../../src/domain/advice.ts'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { simulate } from '../../src/domain/engine.ts'
import { measureChecks } from '../../src/domain/exercises.ts'
import { GradeItemSchema } from '../../src/domain/grade-schemas.ts'
import { RUBRIC_VERSION } from '../../src/domain/grading.ts'
import type { Design } from '../../src/domain/model.ts'
import { previewDesign } from '../../src/domain/preview.ts'
import { DesignSchema, PreviewSchema, RunResultSchema } from '../../src/domain/schemas.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postPreview, postWorkspace } from '../helpers/workspaces.ts'

// One schema per shape: what the domain takes and computes is what the API takes and answers,
// field for field. Each test also checks that its data uses every field its schema declares, so a
// field added to a schema is covered here without a second list.

/** The paths (`components[].hitRatio`) a schema declares that none of the values has. */
function unused(schema: TSchema, values: unknown[], path = ''): string[] {
  const s = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] }
  if (s.anyOf) {
    const present = values.filter((v) => v !== null && v !== undefined)
    return s.anyOf.some((option) => (option as { type?: string }).type === 'null')
      ? s.anyOf.flatMap((option) =>
          (option as { type?: string }).type === 'null' ? [] : unused(option, present, path)
        )
      : s.anyOf.flatMap((option) => unused(option, present, path))
  }
  if (s.items)
    return unused(
      s.items,
      values.flatMap((v) => (Array.isArray(v) ? v : [])),
      `${path}[]`
    )
  if (!s.properties) return []
  const objects = values.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
  return Object.entries(s.properties).flatMap(([key, child]) => {
    const here = objects.filter((o) => key in o).map((o) => o[key])
    return here.length === 0 ? [`${path}.${key}`] : unused(child, here, `${path}.${key}`)
  })
}

/** Every documented field of a component and a link, somewhere. */
const EVERY_FIELD: Design = {
  components: [
    { id: 'users', type: 'client', name: 'Users', x: 40, y: 60 } as never,
    {
      id: 'lb',
      type: 'load_balancer',
      name: 'Edge',
      instances: 2,
      concurrency: 500,
      serviceTimeMs: 0.5,
      routing: 'split',
      balancing: 'pooled',
      zones: ['a', 'b'],
      availability: 0.99995,
      costPerMonth: 25,
      x: 260,
      y: 60
    },
    {
      id: 'api',
      type: 'service',
      instances: 4,
      concurrency: 8,
      serviceTimeMs: 20,
      routing: 'calls',
      calls: 'parallel',
      balancing: 'random',
      serviceTimeCv: 0.5,
      queueLimit: 200,
      zones: ['a', 'b'],
      availability: 0.9995,
      costPerMonth: 90
    },
    { id: 'cache', type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8, zones: ['a', 'b'] },
    { id: 'db', type: 'database', instances: 2, concurrency: 20, serviceTimeMs: 8, replicas: 1, zones: ['a', 'b'] },
    { id: 'q', type: 'queue', instances: 2, concurrency: 100, serviceTimeMs: 2 },
    { id: 'worker', type: 'worker', instances: 2, concurrency: 4, serviceTimeMs: 50 },
    { id: 'maps', type: 'external', instances: 1, concurrency: 50, serviceTimeMs: 80, delay: true }
  ],
  links: [
    { from: 'users', to: 'lb', share: 1, latencyMs: 20, bandwidthMbps: 100 },
    { from: 'lb', to: 'api', share: 1 },
    { from: 'api', to: 'cache', traffic: 'read' },
    { from: 'cache', to: 'db', traffic: 'read' },
    { from: 'api', to: 'db', traffic: 'write', timeoutMs: 200, retries: 1 },
    { from: 'api', to: 'q', share: 0.2, traffic: 'write' },
    { from: 'q', to: 'worker' },
    { from: 'api', to: 'maps', share: 0.1, traffic: 'both', latencyMs: 30 }
  ]
}
const TRAFFIC = { peakRps: 300, readRatio: 0.8, payloadKb: 4, latencySloMs: 300, budgetPerMonth: 2000 }
const json = <T>(x: T): T => JSON.parse(JSON.stringify(x))

t.test('a design with every documented field is valid, and the API stores and returns it as sent', async (t) => {
  t.same(unused(DesignSchema, [EVERY_FIELD]), [], 'the design uses every field the schema declares')
  t.same(validateDesign(EVERY_FIELD), [])
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const created = await postWorkspace(app, user, { name: 'Every field', design: EVERY_FIELD })
  t.equal(created.statusCode, 201, created.body)
  t.same(created.json().design, EVERY_FIELD, 'the answer has every field')
  const read = await app.inject({ url: `/workspaces/${created.json().id}`, headers: bearer(user) })
  t.same(read.json().design, EVERY_FIELD, 'and so does the stored design')

  // availability, costPerMonth and zones were refused with a 400 before; they change like any field.
  const changed = structuredClone(EVERY_FIELD)
  Object.assign(changed.components[2], { availability: 0.99, costPerMonth: 10, zones: ['c'] })
  const patched = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${created.json().id}`,
    headers: bearer(user),
    payload: { version: created.json().version, design: changed }
  })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json().design.components[2], { availability: 0.99, costPerMonth: 10, zones: ['c'] })
  const bad = structuredClone(changed)
  Object.assign(bad.components[2], { availability: 0, costPerMonth: -1, zones: ['Not a zone'] })
  const refused = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${created.json().id}`,
    headers: bearer(user),
    payload: { version: patched.json().version, design: bad }
  })
  t.equal(refused.statusCode, 422, 'their bounds are the domain’s, with every problem named')
  t.same(
    refused.json().problems.map((p: { path: string }) => p.path),
    ['/components/2/availability', '/components/2/costPerMonth', '/components/2/zones']
  )
  const unknown = await app.inject({
    method: 'PATCH',
    url: `/workspaces/${created.json().id}`,
    headers: bearer(user),
    payload: {
      version: patched.json().version,
      design: { ...changed, components: [{ id: 'x', type: 'client', colour: 'red' }] }
    }
  })
  t.equal(unknown.statusCode, 400, 'a field no schema declares is still a 400')
})

t.test('the API answers every field the domain computed: a run, its analysis, its grade, a preview', async (t) => {
  const { url } = await createTestDatabase(t)
  // Fixtures and inspections past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '100000' })
  const user = await registerAndLogin(app)
  const ws = (await postWorkspace(app, user, { name: 'Shapes', design: EVERY_FIELD, trafficProfile: TRAFFIC })).json()

  // The worker's run (with its analysis), and a discrete-event run for the interval figures.
  const run = simulateAndAnalyze(EVERY_FIELD, TRAFFIC, 7)
  const replicated = simulate(SAMPLE_DESIGN, TRAFFIC, { seed: 7, mode: 'discrete-event', samples: 5000 })
  // And an overloaded run for the unbounded figures.
  const overloaded = simulate(SAMPLE_DESIGN, { ...TRAFFIC, peakRps: 5000 }, { seed: 7 })
  // And an exercise attempt's run, which carries its checks.
  const exercise = [...exercises().bySlug.values()][0]
  const attempt = { ...run, checks: measureChecks(exercise.requirements, EVERY_FIELD, run) }
  // And one without a database, whose database drill does not apply.
  const noDatabase: Design = {
    components: SAMPLE_DESIGN.components.filter((c) => c.type !== 'database'),
    links: SAMPLE_DESIGN.links.filter((l) => l.to !== 'db')
  }
  const noDatabaseRun = simulateAndAnalyze(noDatabase, TRAFFIC, 7)
  const drill = [...exercises().bySlug.values()].find((e) =>
    measureChecks(e.requirements, noDatabase, noDatabaseRun).some((c) => c.applies === false)
  )
  t.ok(drill, 'an exercise has a drill a design without a database cannot pass')
  const inapplicable = {
    ...noDatabaseRun,
    checks: measureChecks(drill?.requirements ?? exercise.requirements, noDatabase, noDatabaseRun)
  }
  t.same(
    unused(RunResultSchema, [run, replicated, overloaded, attempt, inapplicable]),
    [],
    'between them, the runs fill every field of a result'
  )
  const store = async (result: unknown) => {
    const id = randomUUID()
    await sql`
      insert into app.simulation_runs ${sql({
        id,
        workspace_id: ws.id,
        owner_id: user.id,
        status: 'completed',
        design: EVERY_FIELD as never,
        traffic: TRAFFIC as never,
        seed: 7,
        result: result as never,
        started_at: new Date(),
        completed_at: new Date()
      })}
    `
    return id
  }
  const listed = await app.inject({ url: `/workspaces/${ws.id}/simulations`, headers: bearer(user) })
  for (const result of [run, replicated]) {
    const id = await store(result)
    const answer = await app.inject({ url: `/simulations/${id}`, headers: bearer(user) })
    t.equal(answer.statusCode, 200)
    t.same(answer.json().result, json(result), `GET /simulations/:id drops nothing of a ${result.mode} run`)
    const list = await app.inject({ url: `/workspaces/${ws.id}/simulations`, headers: bearer(user) })
    const item = list.json().items.find((r: { id: string }) => r.id === id)
    t.same(item.overall, json(result.overall), 'the list carries its overall figures')
  }
  t.equal(listed.statusCode, 200)

  // The grade, as the grading worker stores it: with its advice, each suggestion tried.
  // A design past its capacity draws suggestions that carry a patch and its effect.
  const hot = { ...TRAFFIC, peakRps: 2000 }
  const advised = advise(SAMPLE_DESIGN, hot, simulateAndAnalyze(SAMPLE_DESIGN, hot, 7), { seed: 7 })
  const graded = { ...advise(EVERY_FIELD, TRAFFIC, run, { seed: 7 }), items: advised.items }
  // A patch is a list of ops of several kinds: one design draws some of them (test/domain/advice.test.ts has the rest).
  t.same(
    unused(GradeItemSchema, graded.items).filter((path) => !path.startsWith('.patch[].')),
    [],
    'the items fill every field of an item'
  )
  const gradeId = randomUUID()
  await sql`
    insert into app.grade_reports ${sql({
      id: gradeId,
      simulation_id: await store(run),
      owner_id: user.id,
      status: 'completed',
      score: graded.score,
      items: graded.items as never,
      rubric_version: RUBRIC_VERSION,
      completed_at: new Date()
    })}
  `
  const report = await app.inject({ url: `/grades/${gradeId}`, headers: bearer(user) })
  t.equal(report.statusCode, 200)
  t.match(report.json(), { score: graded.score, rubricVersion: RUBRIC_VERSION })
  t.same(report.json().items, json(graded.items), 'GET /grades/:id drops nothing of the items')

  // A preview is the domain's previewDesign, field for field.
  const preview = await postPreview(app, user, ws.id)
  t.equal(preview.statusCode, 200)
  const expected = previewDesign(EVERY_FIELD, TRAFFIC, app.config.preview.maxSteps)
  const overloadedPreview = previewDesign(SAMPLE_DESIGN, { ...TRAFFIC, peakRps: 5000 }, app.config.preview.maxSteps)
  // And a what-if that left a component down.
  const outagePreview = previewDesign(SAMPLE_DESIGN, TRAFFIC, app.config.preview.maxSteps, undefined, undefined, ['db'])
  t.same(unused(PreviewSchema, [expected, overloadedPreview, outagePreview]), [])
  t.same(preview.json(), json(expected), 'POST /workspaces/:id/preview drops nothing')
})
