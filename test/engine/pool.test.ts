import t, { type Test } from 'tap'
import * as simulation from '../../jobs/simulation.ts'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { EngineBudgetError } from '../../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../../src/domain/model.ts'
import { createEnginePool, EngineBusyError, EngineTimeoutError, isPermanentEngineError } from '../../src/engine/pool.ts'
import { PermanentJobError } from '../../src/queue/jobs.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { fanOutBomb } from '../helpers/pathological.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const traffic: TrafficProfile = { peakRps: 400, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

t.test('the engine pool gives what the engine gives, several runs at a time', async (t) => {
  const pool = createEnginePool(2)
  t.teardown(() => pool.close())
  const seeds = [1, 2, 3, 4, 5]
  const results = await Promise.all(seeds.map((seed) => pool.run(SAMPLE_DESIGN, traffic, seed)))
  for (const [i, seed] of seeds.entries()) {
    t.same(results[i], simulateAndAnalyze(SAMPLE_DESIGN, traffic, seed), `seed ${seed}: identical to the engine`)
  }
})

t.test('an engine error reaches the caller with its name, and the thread goes on', async (t) => {
  const pool = createEnginePool(1)
  t.teardown(() => pool.close())
  // A cycle that passes on everything it receives never settles.
  const divergent: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'a', type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 5 },
      { id: 'b', type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 5 }
    ],
    links: [
      { from: 'users', to: 'a', share: 1 },
      { from: 'a', to: 'b', share: 1 },
      { from: 'b', to: 'a', share: 1 }
    ]
  }
  await t.rejects(pool.run(divergent, traffic, 1), { message: /does not settle/ })
  t.same(await pool.run(SAMPLE_DESIGN, traffic, 9), simulateAndAnalyze(SAMPLE_DESIGN, traffic, 9), 'the next run works')
})

t.test('a run past its deadline fails, its thread is replaced, and the runs behind it still complete', async (t) => {
  // Refused by validation (which the pool does not run): seconds of work, far past a 1 s deadline
  // that a normal run (tens of ms, cold) never comes near.
  const slow = fanOutBomb(12, 4)
  const pool = createEnginePool(1, { timeoutMs: 1000 })
  t.teardown(() => pool.close())
  const late = pool.run(slow, { ...traffic, peakRps: 1 }, 1)
  const behind = pool.run(SAMPLE_DESIGN, traffic, 2)
  await t.rejects(late, EngineTimeoutError)
  await t.rejects(late, { message: 'the simulation ran longer than 1000 ms and was stopped' })
  t.same(await behind, simulateAndAnalyze(SAMPLE_DESIGN, traffic, 2), 'the pipelined run ran on the new thread')
  t.same(
    await pool.run(SAMPLE_DESIGN, traffic, 3),
    simulateAndAnalyze(SAMPLE_DESIGN, traffic, 3),
    'and so does the next'
  )
  t.throws(() => createEnginePool(1, { timeoutMs: 0 }), /timeoutMs/)
})

t.test('an aborted job’s queued run is dropped before it starts', async (t) => {
  const pool = createEnginePool(1, { timeoutMs: 5000 })
  t.teardown(() => pool.close())
  const busy = [pool.run(SAMPLE_DESIGN, traffic, 1), pool.run(SAMPLE_DESIGN, traffic, 2)]
  const abort = new AbortController()
  const dropped = pool.run(SAMPLE_DESIGN, traffic, 3, abort.signal)
  abort.abort(new Error('job aborted'))
  await t.rejects(dropped, { message: 'job aborted' })
  await Promise.all(busy)
})

t.test('closing fails what is still queued and refuses new runs', async (t) => {
  const pool = createEnginePool(1)
  const runs = Array.from({ length: 4 }, (_, i) =>
    pool.run(SAMPLE_DESIGN, traffic, i).then(
      () => 'done',
      (e: Error) => e.message
    )
  )
  await pool.close()
  const outcomes = await Promise.all(runs)
  t.ok(outcomes.includes('engine pool is closed'), `queued runs fail: ${outcomes.join(', ')}`)
  await t.rejects(pool.run(SAMPLE_DESIGN, traffic, 1), { message: 'engine pool is closed' })
  t.throws(() => createEnginePool(0), /positive integer/)
})

/** An app, a user's workspace of the sample design, and a way to queue its runs (ids) for a handler to take. */
async function queuedRuns(t: Test) {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url)
  const user = await registerAndLogin(app)
  const workspace = (await postWorkspace(app, user, { name: 'pool', design: SAMPLE_DESIGN })).json()
  const enqueue = async () =>
    (
      await app.inject({
        method: 'POST',
        url: `/workspaces/${workspace.id}/simulations`,
        headers: bearer(user),
        payload: { seed: 11 }
      })
    ).json().id as string
  // The handler works as the app (its jobs act for their owner); the test reads past the policies.
  return { sql, root: testSql(t, superuserUrl(url)), enqueue, owner: user.id }
}
const job = (runId: string, ownerId: string) =>
  ({ data: { runId, ownerId }, signal: new AbortController().signal }) as never

t.test('the simulation handler computes on the pool it is given', async (t) => {
  const { sql, root, enqueue, owner } = await queuedRuns(t)

  // A closed pool refuses: the handler went through it, and nothing was stored.
  const closed = createEnginePool(1)
  await closed.close()
  const refused = await enqueue()
  await t.rejects(simulation.createHandler(sql, closed)(job(refused, owner)), { message: 'engine pool is closed' })
  const [unstored] = await root`select status, result from app.simulation_runs where id = ${refused}`
  t.match(unstored, { status: 'running', result: null })

  const pool = createEnginePool(1)
  t.teardown(() => pool.close())
  const runId = await enqueue()
  t.match(await simulation.createHandler(sql, pool)(job(runId, owner)), { runId, stored: true })
  const [run] = await root`select status, result, design, traffic from app.simulation_runs where id = ${runId}`
  t.equal(run.status, 'completed')
  t.same(run.result, simulateAndAnalyze(run.design, run.traffic, 11), 'the stored result is the engine’s')

  // A batch at once: its claims and results share statements, and each job still gets its own
  // outcome. An id in capitals is the same run; a run delivered twice is computed for both
  // deliveries but written, and reported stored, once.
  const handle = simulation.createHandler(sql, pool)
  const runs = [await enqueue(), await enqueue(), await enqueue()]
  const outcomes = (await Promise.all(
    [runs[0], runs[1].toUpperCase(), runs[2], runs[2]].map((id) => handle(job(id, owner)))
  )) as { runId: string; stored: boolean }[]
  t.same(
    outcomes.map((o) => [o.runId, o.stored]),
    [
      [runs[0], true],
      [runs[1], true],
      [runs[2], true],
      [runs[2], false]
    ]
  )
  const stored =
    await root`select status, result, design, traffic, seed from app.simulation_runs where id = any(${runs})`
  t.equal(stored.length, 3)
  for (const row of stored) {
    t.equal(row.status, 'completed')
    t.same(row.result, simulateAndAnalyze(row.design, row.traffic, row.seed), 'each run stores its own result')
  }
})

t.test('engine errors cross the thread boundary as codes: a run past its step budget fails once', async (t) => {
  const { sql, enqueue, owner } = await queuedRuns(t)
  const runId = await enqueue()
  // A budget a normal run passes many times over: the run's error comes back from the thread.
  const pool = createEnginePool(1, { timeoutMs: 5000, runMaxSteps: 1000 })
  t.teardown(() => pool.close())
  const err = await simulation
    .createHandler(
      sql,
      pool
    )(job(runId, owner))
    .then(
      () => null,
      (e: Error) => e
    )
  t.ok(err instanceof PermanentJobError, 'a permanent failure: pg-boss does not retry it')
  t.match(err?.message, 'the simulation took more than 1000 steps')
  t.ok(isPermanentEngineError(await pool.run(SAMPLE_DESIGN, traffic, 1).catch((e) => e)), 'recognised by its code')
  const rebuilt = await pool.preview(SAMPLE_DESIGN, traffic, 10).catch((e) => e)
  t.ok(rebuilt instanceof EngineBudgetError, 'rebuilt as the engine’s class')
  t.equal(rebuilt.limit, 10)
})

t.test('a task waits for a thread at most maxQueueWaitMs, then EngineBusyError', async (t) => {
  const pool = createEnginePool(1, { timeoutMs: 5000, maxQueueWaitMs: 0, pipelineDepth: 1 })
  t.teardown(() => pool.close())
  const waits: number[] = []
  await pool.run(SAMPLE_DESIGN, traffic, 1).catch(() => null)
  t.ok((await pool.run(SAMPLE_DESIGN, traffic, 1)).overall, 'a starting thread is not busy: the first runs wait for it')
  const first = pool.run(SAMPLE_DESIGN, traffic, 1)
  const second = pool.run(SAMPLE_DESIGN, traffic, 2)
  await t.rejects(second, EngineBusyError, 'no thread was free within 0 ms')
  await first
  t.same(pool.load(), { busy: 0, queued: 0 })
  const counted = createEnginePool(1, { timeoutMs: 5000, onDispatch: (ms) => waits.push(ms) })
  t.teardown(() => counted.close())
  await Promise.all([counted.run(SAMPLE_DESIGN, traffic, 1), counted.run(SAMPLE_DESIGN, traffic, 2)])
  t.equal(waits.length, 2, 'each dispatch reports its queue wait')
})
