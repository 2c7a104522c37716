import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { fanOutBomb, heavyFanOut } from '../helpers/pathological.ts'
import { fork } from '../helpers/process.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

t.test('a running job completes when the worker receives SIGTERM, and the worker exits 0', async (t) => {
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url }, ['--queues', 'maintenance'])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)

  const boss = await startedBoss(t, sql, 'api')
  const id = (await boss.send('maintenance', { task: 'probe', holdMs: 1500 })) as string
  await waitFor(async () => (await boss.getJobById('maintenance', id))?.state === 'active', {
    what: 'the probe job to start'
  })
  worker.child.kill('SIGTERM')
  t.equal(await worker.exited, 0)
  const job = await boss.getJobById('maintenance', id)
  t.equal(job?.state, 'completed', 'the running job completed before exit')
  t.ok(worker.stdout.some((l) => /shutdown: queue stopped/.test(l)))
  t.ok(worker.stdout.some((l) => /shutdown complete/.test(l)))
})

t.test('the worker refuses an unknown queue name', async (t) => {
  const worker = fork('jobs/worker.ts', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, ['--queues', 'nope'])
  t.equal(await worker.exited, 2)
  t.match(worker.stdout.join('\n'), /unknown queue\(s\): nope/)
})

t.test(
  'a run past SIMULATION_TIMEOUT_MS fails once with a clear error; a normal run right after completes',
  async (t) => {
    const { url } = await createTestDatabase(t)
    // Reads past the row-level security (the app's role needs a user's context).
    const sql = testSql(t, superuserUrl(url))
    const { app } = await buildTestApp(t, url)
    const worker = fork('jobs/worker.ts', { DATABASE_URL: url, SIMULATION_TIMEOUT_MS: '1000' }, [
      '--queues',
      'simulation'
    ])
    t.teardown(() => {
      worker.child.kill('SIGKILL')
    })
    await worker.waitForLog(/worker ready/)
    const auth = bearer(await registerAndLogin(app))
    const workspace = async (design: unknown) =>
      (await app.inject({ method: 'POST', url: '/workspaces', headers: auth, payload: { name: 'w', design } })).json()
    const bomb = await app.inject({
      method: 'POST',
      url: '/workspaces',
      headers: auth,
      payload: { name: 'bomb', design: fanOutBomb(12, 4) }
    })
    t.equal(bomb.statusCode, 422, 'the API refuses the fan-out bomb')
    t.match(bomb.json(), { code: 'APP_ERR_INVALID_DESIGN', problems: [{ path: '/links', message: /limit is 500/ }] })

    // The slowest kind of valid design (2.5 s with its analysis on an idle machine), past this
    // worker's 1 s deadline, which a normal run with its analysis (about 100 ms on a cold thread)
    // stays well within, even on a busy machine.
    const slow = await workspace(heavyFanOut())
    const normal = await workspace(SAMPLE_DESIGN)
    const run = async (id: string) =>
      (await app.inject({ method: 'POST', url: `/workspaces/${id}/simulations`, headers: auth, payload: {} })).json()
    const slowRun = await run(slow.id)
    const normalRun = await run(normal.id)
    const status = async (id: string) =>
      (await sql`select status, error, attempts from app.simulation_runs where id = ${id}`)[0]
    await waitFor(async () => (await status(normalRun.id)).status === 'completed', {
      what: 'the normal run to complete',
      timeoutMs: 10_000
    })
    await waitFor(async () => (await status(slowRun.id)).status === 'failed', { what: 'the slow run to fail' })
    t.match(await status(slowRun.id), {
      error: 'the simulation ran longer than 1000 ms and was stopped',
      attempts: 1
    })
  }
)

t.test('an enqueued run wakes an idle worker at once, whatever its polling interval', async (t) => {
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url)
  // A minute between polls: only the wake can start the run within the deadline below.
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url, WORKER_POLL_INTERVAL_SECONDS: '60' }, [
    '--queues',
    'simulation'
  ])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)
  const auth = bearer(await registerAndLogin(app))
  const ws = (
    await app.inject({
      method: 'POST',
      url: '/workspaces',
      headers: auth,
      payload: { name: 'w', design: SAMPLE_DESIGN }
    })
  ).json()
  // Past the worker's first fetch (made when it started), so the loops are asleep.
  await new Promise((r) => setTimeout(r, 1000))
  for (let i = 0; i < 3; i++) {
    const run = (
      await app.inject({ method: 'POST', url: `/workspaces/${ws.id}/simulations`, headers: auth, payload: {} })
    ).json()
    await waitFor(
      async () => (await sql`select status from app.simulation_runs where id = ${run.id}`)[0].status === 'completed',
      { what: `run ${i + 1} to complete without a poll`, timeoutMs: 5000, intervalMs: 10 }
    )
  }
  t.pass('three runs in a row completed with the worker polling once a minute')
})
