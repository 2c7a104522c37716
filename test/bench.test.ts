import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { withContext } from '../src/db/context.ts'
import { createTestDatabase, testSql } from './helpers/db.ts'
import { fork } from './helpers/process.ts'

t.test('the benchmarks run end to end in smoke mode and save their JSON', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'sdc-bench-out-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  // The classroom runs in its own file (test/bench-classroom.test.ts): each file has its own time limit.
  const phases = 'overhead,profile,database,timeToResult,jobs,engine'
  const bench = fork('bench/run.ts', {}, ['--smoke', '--only', phases, '--out', out])
  t.equal(await bench.exited, 0, bench.stderr.join('').slice(-2000))
  const report = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8'))
  for (const key of phases.split(',')) t.ok(report[key], key)
  for (const route of ['public', 'authenticated']) {
    const { parts, totalUsPerRequest, non2xx } = report.profile[route]
    t.equal(non2xx, 0, `profile, ${route}: every request answered 2xx`)
    t.ok(
      parts['Node HTTP and streams'] > 0 && parts['Fastify (routing, hooks, reply)'] > 0,
      `profile, ${route}: the stack's parts are attributed`
    )
    const sum = Object.values(parts as Record<string, number>).reduce((a, b) => a + b, 0)
    t.ok(Math.abs(sum - totalUsPerRequest) < 1, `profile, ${route}: the parts add up to the total`)
  }
  const otel = 'OpenTelemetry (spans, context, OTLP export)'
  t.ok(report.profile.readTraced.parts[otel] > 0, 'the traced read’s profile shows the SDK at work')
  t.equal(report.profile.read.parts[otel], undefined, 'and the untraced one none of it')
  const { targets } = report.overhead
  const trivial = ['bare', 'boilerplatePublic', 'boilerplateAuthenticated', 'fullPublic', 'fullAuthenticated']
  for (const name of [...trivial, 'fullAuthenticatedTraced']) {
    t.ok(targets[name].cpuUsPerRequest > 0, `${name}: server CPU per request measured from outside its process`)
    t.equal(targets[name].non2xx, 0, `${name}: every request answered 2xx`)
  }
  t.ok(report.overhead.fullAuthenticatedVsBoilerplate.throughput > 0, 'the peer stack is measured in the same run')
  t.ok(report.overhead.sampledTracingVsOff.cpu > 0, 'tracing at 0.1 is measured pinned on the trivial route')
  for (const name of ['read', 'enqueue', 'enqueueWithoutJob', 'auditedWrite', 'plainWrite'])
    t.equal(report.database.targets[name].non2xx, 0, `${name}: no error measured as throughput`)
  // Autosave's PATCHes race on purpose (bench/lib/load-child.ts): a 409 is the scenario, anything else is not.
  const { non2xx, non2xxByStatus } = report.database.targets.autosave
  const counted = Object.values(non2xxByStatus as Record<string, number>).reduce((a, b) => a + b, 0)
  t.equal(counted, non2xx, 'autosave: every non-2xx answer is counted under its status')
  t.same(
    Object.keys(non2xxByStatus).filter((status) => status !== '409'),
    [],
    'autosave: no answer but a conflict'
  )
  t.same(report.database.targets.read.non2xxByStatus, {}, 'the read: no status to break down')
  t.ok(report.database.targets.enqueue.dbCpuUsPerRequest > 0, 'Postgres CPU is charged per request')
  t.ok(report.database.spansExported > 0, 'the traced server really traces: its spans reach the collector')
  t.ok(report.timeToResult.idle.runs > 0 && report.timeToResult.idle.p50 > 0)
  t.ok(report.jobs.workerCpuUsPerJob > 0, 'a simulation job’s CPU cost is measured')
  t.ok(report.engine.attackDesigns.designs > report.engine.attackDesigns.accepted, 'attack designs: some refused')
})

t.test('the pgbench scripts run against the real schema, and each transaction writes what it says', async (t) => {
  // As the owner: the scripts' set-up makes a table of their own.
  const { ownerUrl } = await createTestDatabase(t)
  const sql = testSql(t, ownerUrl)
  const statements = async (file: string) =>
    (await readFile(new URL(`../bench/pgbench/${file}`, import.meta.url), 'utf8'))
      .replace(/^(--|\\).*$/gm, '')
      .replaceAll(':i', '10')
      .split(/;\s*$/m)
      .map((s) => s.trim())
      .filter(Boolean)
  for (const statement of await statements('setup.sql')) await sql.unsafe(statement)
  const counts = async () => {
    const [row] = await sql`
      select (select count(*)::int from app.audit_log) as audit, (select count(*)::int from public.audit_bare) as bare
    `
    return row
  }
  const expected: Record<string, { audit: number; bare: number }> = {
    'plain.sql': { audit: 0, bare: 0 },
    'select1.sql': { audit: 0, bare: 0 },
    'audit.sql': { audit: 1, bare: 0 },
    'audit_statement.sql': { audit: 1, bare: 0 },
    'bare.sql': { audit: 0, bare: 1 }
  }
  for (const [file, added] of Object.entries(expected)) {
    const before = await counts()
    const connection = await sql.reserve()
    try {
      for (const statement of await statements(file)) await connection.unsafe(statement)
    } finally {
      connection.release()
    }
    const after = await counts()
    t.same({ audit: after.audit - before.audit, bare: after.bare - before.bare }, added, file)
  }
  const [workspace] = await withContext(
    sql,
    { userId: '00000000-0000-7000-8000-000000000001' },
    (tx) => tx`select name from app.workspaces where id = '00000000-0000-7000-8000-000000000010'`
  )
  t.equal(workspace.name, 'bench', 'the write updates a workspace setup.sql made')
})

t.test('docs/benchmarks.md and the README table are rendered from the saved run (npm run docs:bench)', async (t) => {
  const { renderBenchmarkDoc } = await import('../bench/render.ts')
  const { doc, readme } = await renderBenchmarkDoc(false)
  t.equal(
    await readFile(new URL('../docs/benchmarks.md', import.meta.url), 'utf8'),
    doc,
    'docs/benchmarks.md is current'
  )
  t.equal(await readFile(new URL('../README.md', import.meta.url), 'utf8'), readme, 'the README table is current')
})
