import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { JOBS } from '../../jobs/registry.ts'
import { enqueueJob } from '../../src/queue/enqueue.ts'
import { SimulationJob } from '../../src/queue/messages.ts'
import { createQueues } from '../../src/queue/queues.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

t.test('a payload that does not fit its queue is refused before it is sent, and nothing is written', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const boss = await startedBoss(t, sql, 'cli')
  await createQueues(boss, JOBS)
  await t.rejects(
    sql.begin((tx) => enqueueJob(boss, tx, SimulationJob, { runId: 'run-1', ownerId: crypto.randomUUID() }, 'req-bad')),
    { message: 'queue simulation refused the job before it was sent: payload.runId must be a uuid' }
  )
  await t.rejects(
    sql.begin((tx) => enqueueJob(boss, tx, SimulationJob, { gradeId: crypto.randomUUID() } as never, 'req-bad')),
    { message: /payload must have required properties runId/ },
    'a payload of another queue'
  )
  t.same(await sql`select id from pgboss.job where name = 'simulation'`, [], 'no job')
  t.same(await sql`select job_id from app.job_telemetry where request_id = 'req-bad'`, [], 'no telemetry row')
  const id = await sql.begin((tx) =>
    enqueueJob(boss, tx, SimulationJob, { runId: crypto.randomUUID(), ownerId: crypto.randomUUID() }, 'req-good')
  )
  t.ok(id, 'one that fits is sent')
})

t.test('each mistyped send in mistyped-payloads.ts fails the typecheck on its own', async (t) => {
  const source = await readFile(join(ROOT, 'test/queue/mistyped-payloads.ts'), 'utf8')
  const marked = source.split('\n').flatMap((line, i) => (line.includes('// @ts-expect-error') ? [i + 2] : []))
  t.equal(marked.length, 4, 'four mistyped sends')
  // The same file without its markers, checked with the project's options.
  const planted = join(ROOT, 'test/queue/planted-payloads.ts')
  const config = join(ROOT, 'test/queue/tsconfig.planted.json')
  t.teardown(() => Promise.all([rm(planted, { force: true }), rm(config, { force: true })]))
  await writeFile(planted, source.replaceAll(/^ *\/\/ @ts-expect-error.*$/gm, '//'))
  await writeFile(config, JSON.stringify({ extends: '../../tsconfig.json', include: ['planted-payloads.ts'] }))
  // tsc's module imported, not run as a script: the test runner's require hooks cannot load it.
  const tsc = `await import(${JSON.stringify(pathToFileURL(join(ROOT, 'node_modules/typescript/lib/tsc.js')).href)})`
  const out = await run(process.execPath, ['--input-type=module', '-e', tsc, '--', 'tsc', '-p', config], {
    cwd: ROOT
  }).then(
    (r) => r.stdout,
    (e: { stdout: string; stderr: string }) => e.stdout + e.stderr
  )
  const failing = [...out.matchAll(/planted-payloads\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1]))
  t.same([...new Set(failing)], marked, `tsc refuses each marked line and no other:\n${out}`)
})
