import t from 'tap'
import { JOBS } from '../../jobs/registry.ts'
import { fromPostgresJs } from '../../src/queue/boss.ts'
import { enqueueJob } from '../../src/queue/enqueue.ts'
import { SimulationJob } from '../../src/queue/messages.ts'
import { createQueues } from '../../src/queue/queues.ts'
import { insertLifecycle } from '../../src/queue/statements.ts'
import { buildTestApp } from '../helpers/app.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { heavyFanOut } from '../helpers/pathological.ts'
import { fork } from '../helpers/process.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

const SECRET = 'metrics-secret-0123456789abcdef'
const METRICS = { METRICS_ENABLED: 'true', METRICS_GUARD: 'secret', METRICS_GUARD_SECRET: SECRET }

/** One series' value from a Prometheus text exposition (NaN when absent). */
function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : Number.NaN
}

t.test('one user flooding with runs past the deadline does not hold back another user’s run', async (t) => {
  const deadlineMs = 1000
  const threads = 2
  const flood = 20
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, { ...METRICS, QUOTA_ACTIVE_RUNS: String(flood) })
  const worker = fork(
    'jobs/worker.ts',
    { DATABASE_URL: url, SIMULATION_TIMEOUT_MS: String(deadlineMs), WORKER_ENGINE_THREADS: String(threads) },
    ['--queues', 'simulation']
  )
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)
  const flooder = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const workspace = async (auth: ReturnType<typeof bearer>, design: unknown) =>
    (await app.inject({ method: 'POST', url: '/workspaces', headers: auth, payload: { name: 'w', design } })).json()
  const run = async (auth: ReturnType<typeof bearer>, id: string) => {
    const res = await app.inject({ method: 'POST', url: `/workspaces/${id}/simulations`, headers: auth, payload: {} })
    if (res.statusCode !== 202) throw new Error(`enqueue: ${res.statusCode} ${res.body}`)
    return res.json().id as string
  }
  const slow = await workspace(bearer(flooder), heavyFanOut())
  const normal = await workspace(bearer(other), SAMPLE_DESIGN)

  // How many of each user's jobs are active at once, sampled all along.
  const most = new Map<string, number>()
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const rows = await sql<{ group_id: string; n: number }[]>`
        select group_id, count(*)::int as n from pgboss.job
        where name = 'simulation' and state = 'active' group by group_id
      `
      for (const r of rows) most.set(r.group_id, Math.max(most.get(r.group_id) ?? 0, r.n))
      await new Promise((r) => setTimeout(r, 20))
    }
  })()

  for (let i = 0; i < flood; i++) await run(bearer(flooder), slow.id)
  await waitFor(
    async () => (await sql`select 1 from app.simulation_runs where owner_id = ${flooder.id} and status = 'running'`)[0],
    { what: 'the flood to start' }
  )
  const started = Date.now()
  const id = await run(bearer(other), normal.id)
  await waitFor(
    async () => (await sql`select status from app.simulation_runs where id = ${id}`)[0].status === 'completed',
    { what: 'the other user’s run', timeoutMs: 30_000, intervalMs: 10 }
  )
  const timeToResult = Date.now() - started
  sampling = false
  await sampler

  // Two users on two threads: the run is fetched within 2⌈k/p⌉ deadlines at worst (here at once,
  // one fetch loop being free) and a thread is free for it. Behind the flood it would be fetched
  // after about flood / threads deadlines (10 s); its result is a normal run later (a second or
  // two on a busy machine).
  const [{ waited }] = await sql<{ waited: number }[]>`
    select extract(epoch from started_at - created_at)::float8 * 1000 as waited from app.simulation_runs where id = ${id}
  `
  const bound = 2 * Math.ceil(2 / threads) * deadlineMs
  t.ok(waited <= bound, `the other user’s run started after ${Math.round(waited)} ms (bound ${bound} ms)`)
  const behind = (flood / threads) * deadlineMs
  t.ok(timeToResult < behind / 2, `and its result came in ${timeToResult} ms (behind the flood: over ${behind} ms)`)
  const [{ left }] = await sql<{ left: number }[]>`
    select count(*)::int as left from app.simulation_runs where owner_id = ${flooder.id} and status in ('queued', 'running')
  `
  t.ok(left >= flood / 2, `the flooder still had ${left} of ${flood} runs to go: the run did not wait behind them`)
  t.equal(most.get(flooder.id), 1, 'the flooder never had more than one run active')
  const [job] = await sql`select group_id from pgboss.job where id = ${id}`
  t.equal(job.group_id, other.id, 'a run’s job is grouped by its owner')

  // pg-boss marks the job completed just after the run's row: only the flooder is left then.
  await waitFor(async () => (await sql`select state from pgboss.job where id = ${id}`)[0]?.state === 'completed', {
    what: 'the other user’s job to complete in pg-boss'
  })
  const scrape = (await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': SECRET } })).body
  t.ok(sample(scrape, 'sdc_queue_wait_seconds_15m_count{queue="simulation"}') >= 2, 'queue waits are observed')
  const groups = (state: string) => sample(scrape, `sdc_queue_groups{queue="simulation",state="${state}"}`)
  t.equal(groups('active') + groups('waiting'), 1, 'one user (the flooder) has runs to go')
})

t.test('the queue-wait histogram and the group gauges read the queue as it is', async (t) => {
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, METRICS)
  const boss = await startedBoss(t, sql, 'cli')
  const send = (user: string) =>
    sql.begin((tx) =>
      enqueueJob(boss, tx, SimulationJob, { runId: crypto.randomUUID(), ownerId: crypto.randomUUID() }, null, {
        group: { id: user }
      })
    )
  const first = (await send('user-a')) as string
  await send('user-a')
  await send('user-b')
  await send('user-c')
  await new Promise((r) => setTimeout(r, 300))
  const [fetched] = await boss.fetch('simulation', { batchSize: 1, groupConcurrency: 1 })
  t.equal(fetched.id, first, 'the oldest job is fetched')
  // What the worker writes when a batch starts (jobs/telemetry.ts).
  await insertLifecycle(sql, [
    {
      queue: 'simulation',
      job_id: first,
      event: 'running',
      attempt: 1,
      duration_ms: null,
      error_message: null,
      request_id: null,
      trace_id: null
    }
  ])
  const scrape = (await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': SECRET } })).body
  const series = (suffix: string, labels: string) => sample(scrape, `sdc_queue_wait_seconds_15m${suffix}{${labels}}`)
  t.equal(series('_count', 'queue="simulation"'), 1)
  t.ok(series('_sum', 'queue="simulation"') >= 0.3, 'it waited the 300 ms before its fetch')
  t.equal(series('_bucket', 'queue="simulation",le="0.25"'), 0)
  t.equal(series('_bucket', 'queue="simulation",le="+Inf"'), 1)
  t.match(scrape, /^# TYPE sdc_queue_groups gauge$/m)
  t.equal(sample(scrape, 'sdc_queue_groups{queue="simulation",state="active"}'), 1, 'user-a runs')
  t.equal(
    sample(scrape, 'sdc_queue_groups{queue="simulation",state="waiting"}'),
    2,
    'user-b and user-c wait; user-a’s second job waits on its own first'
  )
  t.notMatch(scrape, /user-a/, 'no group id is a label')
})

t.test('a grouped plain job is the row pg-boss send writes with the same group', async (t) => {
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const boss = await startedBoss(t, sql, 'cli')
  await createQueues(boss, JOBS)
  const group = { id: 'user-g', tier: 'free' }
  const runId = crypto.randomUUID()
  const viaSend = (await sql.begin((tx) =>
    boss.send('simulation', { runId, ownerId: runId, requestId: null }, { group, db: fromPostgresJs(tx) })
  )) as string
  const direct = (await sql.begin((tx) =>
    enqueueJob(boss, tx, SimulationJob, { runId, ownerId: runId }, null, { group })
  )) as string
  const row = async (id: string) => {
    const [job] = await sql`
      select *, keep_until - start_after as kept from pgboss.job where id = ${id}
    `
    const { id: _id, created_on: _c, start_after: _s, keep_until: _k, ...rest } = job
    return rest
  }
  t.same(await row(direct), await row(viaSend), 'every column, the group’s included')
  t.match(await row(direct), { group_id: 'user-g', group_tier: 'free' })
})
