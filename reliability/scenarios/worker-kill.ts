// The worker SIGKILLed again and again during a stream of simulation jobs, each kill while it
// holds active jobs, every other one while it computes claimed runs (kills that miss are retried,
// and counted): no job is lost (created = completed + failed, dead letters included),
// redeliveries are counted, and every run's result is written exactly once (a trigger of the
// scenario's own counts the writes).
import type { Sql } from '../../src/db/client.ts'
import type { Forked } from '../../test/helpers/process.ts'
import {
  type Context,
  checkSql,
  countResultWrites,
  enqueueSimulations,
  expect,
  type Result,
  readAllSql,
  simulationFigures,
  startApi,
  startWorker,
  userOn,
  workspaceOn
} from '../../test/helpers/stack.ts'
import { until, waitFor } from '../../test/helpers/wait.ts'

async function dbNow(sql: Sql): Promise<Date> {
  const [{ now }] = await sql<{ now: Date }[]>`select now()`
  return now
}

/**
 * Simulation jobs active now that were started at or after `since`; with `claimed`, only those
 * whose run the worker has claimed and not yet completed (the kill lands mid-computation).
 */
async function activeSince(sql: Sql, since: Date, claimed: boolean): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n
    from pgboss.job j
    left join app.simulation_runs r on r.id = (j.data->>'runId')::uuid
    where j.name = 'simulation' and j.state = 'active' and j.started_on >= ${since}
      and (not ${claimed} or r.status = 'running')
  `
  return n
}

/** The users whose runs make the stream. */
const LEARNERS = 8
/** The stream's queued jobs, at most, once its first runs are in. */
const BACKLOG = 200

async function queuedSimulations(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from pgboss.job where name = 'simulation' and state = 'created'
  `
  return n
}

export async function workerKill(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const jobs = long ? 600 : 120
  const kills = long ? 8 : 3
  const url = await ctx.createDatabase()
  // The result-write counter is the owner's (a table and a trigger of the check's own); the
  // read-only checks of tables under row-level security go as the backup login, which reads them all.
  const owner = checkSql(url)
  await countResultWrites(owner)
  await owner.end({ timeout: 1 })
  const sql = readAllSql(url)
  const api = await startApi({ DATABASE_URL: url })
  const env = { DATABASE_URL: url }
  let worker: Forked = await startWorker(env, ['--queues', 'simulation'])
  const violations: string[] = []
  let killing = true
  try {
    // The stream goes on until every kill has landed on a worker holding jobs: a kill between
    // batches proves nothing (a fast machine drains a fixed stream before the first kill). It
    // comes from several learners at once: one user's runs run one at a time (fairness).
    const learners = await Promise.all(
      Array.from({ length: LEARNERS }, async (_, i) => {
        const auth = await userOn(api.port, `worker-kill-${i}@example.com`)
        return { auth, workspaceId: await workspaceOn(api.port, auth) }
      })
    )
    // Past its first runs the stream keeps a backlog of at most BACKLOG queued jobs: enough that
    // every kill finds the worker holding jobs, bounded so the drain after the last kill is too
    // (unpaced, a slow machine queued thousands while the kills landed, more than 2 minutes' work).
    const pace = async () => {
      while (killing && (await queuedSimulations(sql)) > BACKLOG) await new Promise((r) => setTimeout(r, 100))
    }
    const enqueued = Promise.all(
      learners.map(({ auth, workspaceId }) =>
        enqueueSimulations(
          () => api.port,
          auth,
          workspaceId,
          jobs / LEARNERS,
          () => killing,
          pace
        )
      )
    ).then((ids) => ids.flat())
    // Awaited after the kills; a failure meanwhile must not be an unhandled rejection.
    enqueued.catch(() => {})

    let landed = 0
    let attempts = 0
    let orphaned = 0
    const deadline = Date.now() + (long ? 120_000 : 60_000)
    let since = await dbNow(sql)
    while (landed < kills && attempts < kills * 10 && Date.now() < deadline) {
      attempts++
      // Every other kill waits for a claimed run (cut off mid-computation, so its redelivery claims
      // it again and must not write twice), the others for a fetched job (cut off before the claim).
      const claimed = landed % 2 === 1
      // Kill as soon as this worker holds such a job, then count what it left: no worker runs now,
      // so every such job still active is one the kill cut off.
      await waitFor(() => activeSince(sql, since, claimed), {
        timeoutMs: 15_000,
        intervalMs: 2,
        what: claimed ? 'a claimed run' : 'an active job'
      })
      worker.child.kill('SIGKILL')
      await worker.exited
      const cut = await activeSince(sql, since, claimed)
      orphaned += cut
      if (cut > 0) landed++
      since = await dbNow(sql)
      worker = await startWorker(env, ['--queues', 'simulation'])
    }
    killing = false
    const runIds = await enqueued
    // A killed worker's active jobs come back once their heartbeat lapses (10 s), then run again.
    const drainMs = await until(
      async () => {
        const f = await simulationFigures(sql, runIds)
        return f.jobsLost === 0
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'every run to finish' }
    ).catch(() => null)
    const jobFigures = await simulationFigures(sql, runIds)
    const figures = {
      ...jobFigures,
      kills: landed,
      killsBetweenJobs: attempts - landed,
      activeJobsAtKill: orphaned,
      drainAfterLastKillMs: drainMs
    }
    expect(violations, landed === kills, `${landed} of ${kills} kills landed while the worker held jobs`)
    expect(violations, jobFigures.jobsLost === 0, `${jobFigures.jobsLost} jobs lost`)
    expect(
      violations,
      jobFigures.jobsResultWrittenTwice === 0,
      `${jobFigures.jobsResultWrittenTwice} results written twice`
    )
    expect(violations, jobFigures.jobsFailed === 0, `${jobFigures.jobsFailed} runs failed (none should)`)
    return { figures, violations }
  } finally {
    killing = false
    worker.child.kill('SIGKILL')
    api.child.kill('SIGKILL')
    await sql.end({ timeout: 1 })
  }
}
