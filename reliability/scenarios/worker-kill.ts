// The worker SIGKILLed again and again during a stream of simulation jobs: no job is lost
// (created = completed + failed, dead letters included), redeliveries are counted, and every
// run's result is written exactly once (a trigger of the scenario's own counts the writes).
import type { Forked } from '../lib/process.ts'
import {
  type Context,
  checkSql,
  countResultWrites,
  enqueueSimulations,
  expect,
  type Result,
  simulationFigures,
  startApi,
  startWorker,
  userOn,
  workspaceOn
} from '../lib/stack.ts'
import { until } from '../lib/wait.ts'

export async function workerKill(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const jobs = long ? 600 : 120
  const kills = long ? 8 : 3
  const url = await ctx.createDatabase()
  const sql = checkSql(url)
  await countResultWrites(sql)
  const api = await startApi({ DATABASE_URL: url })
  const env = { DATABASE_URL: url }
  let worker: Forked = await startWorker(env, ['--queues', 'simulation'])
  const violations: string[] = []
  try {
    const auth = await userOn(api.port, 'worker-kill@example.com')
    const workspaceId = await workspaceOn(api.port, auth)
    const enqueued = enqueueSimulations(() => api.port, auth, workspaceId, jobs)

    let killedMidJob = 0
    for (let i = 0; i < kills; i++) {
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 600))
      const [{ running }] = await sql<{ running: number }[]>`
        select count(*)::int as running from pgboss.job where name = 'simulation' and state = 'active'
      `
      worker.child.kill('SIGKILL')
      await worker.exited
      killedMidJob += running
      worker = await startWorker(env, ['--queues', 'simulation'])
    }
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
    const figures = { ...jobFigures, kills, activeJobsAtKill: killedMidJob, drainAfterLastKillMs: drainMs }
    expect(violations, jobFigures.jobsLost === 0, `${jobFigures.jobsLost} jobs lost`)
    expect(
      violations,
      jobFigures.jobsResultWrittenTwice === 0,
      `${jobFigures.jobsResultWrittenTwice} results written twice`
    )
    expect(violations, jobFigures.jobsFailed === 0, `${jobFigures.jobsFailed} runs failed (none should)`)
    return { figures, violations }
  } finally {
    worker.child.kill('SIGKILL')
    api.child.kill('SIGKILL')
    await sql.end({ timeout: 1 })
  }
}
