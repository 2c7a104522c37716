import type { JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { type DbContext, perContext, withContext } from '../src/db/context.ts'
import { type Analysis, simulateAndAnalyze } from '../src/domain/analysis.ts'
import type { SimulationResult } from '../src/domain/engine.ts'
import { measureChecks } from '../src/domain/exercises.ts'
import { validateDesign } from '../src/domain/validate.ts'
import { type EnginePool, isPermanentEngineError } from '../src/engine/pool.ts'
import { exercises } from '../src/exercises/index.ts'
import { PermanentJobError } from '../src/queue/jobs.ts'
import { type JobData, jobContext, SimulationJob } from '../src/queue/messages.ts'
import { claimRuns, completeRuns, failRun, runStatus } from '../src/runs/runs.ts'
import { coalesce } from './coalesce.ts'
import { BATCH_SIZE, defineJob } from './define.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'

/**
 * Without a pool the simulation runs on the calling thread (tests, one-off tools). The handler's
 * two statements are coalesced across the jobs it runs at once: a batch claims its runs, and
 * stores their results, in a few statements, not one round trip per job each.
 */
export function createHandler(sql: Sql, engine: EnginePool | null = null) {
  // Each owner's runs in a statement of their own, under their context (SET LOCAL), the batch's
  // statements in one transaction: the policies hold each job to its owner's rows.
  const claim = coalesce((items: { id: string; context: DbContext }[]) =>
    perContext(
      sql,
      items,
      (item) => item.context,
      (tx, mine) =>
        claimRuns(
          tx,
          mine.map((item) => item.id)
        )
    )
  )
  // Exactly once: a retried or duplicated job finds the row completed and writes nothing.
  const store = coalesce((items: { id: string; result: SimulationResult; context: DbContext }[]) =>
    perContext(
      sql,
      items,
      (item) => item.context,
      (tx, mine) =>
        completeRuns(
          tx,
          mine.map(({ id, result }) => ({ id, result }))
        )
    )
  )

  return async function simulation(job: JobWithMetadata<JobData<typeof SimulationJob>>): Promise<unknown> {
    const runId = job.data.runId.toLowerCase()
    const context = jobContext(job.data)
    const run = await claim({ id: runId, context })
    if (!run) {
      // Already completed (a duplicate delivery), failed, or deleted with its workspace (or not
      // the job's owner's: out of its reach): nothing to do.
      return { runId, skipped: (await withContext(sql, context, (tx) => runStatus(tx, runId))) ?? 'deleted' }
    }
    // Old jobs outlive code: the snapshot is checked again before it is trusted.
    const problems = validateDesign(run.design)
    if (problems.length > 0)
      throw new PermanentJobError(`invalid design snapshot: ${problems[0].path} ${problems[0].message}`)
    job.signal.throwIfAborted()
    let result: SimulationResult
    try {
      result = engine
        ? await engine.run(run.design, run.traffic, run.seed, job.signal)
        : simulateAndAnalyze(run.design, run.traffic, run.seed)
    } catch (err) {
      // Past its deadline or its step budget, or divergent, a run would do the same on any worker: it fails, once.
      if (isPermanentEngineError(err)) throw new PermanentJobError(err.message)
      throw err
    }
    // An exercise attempt's run carries its checks, so the learner sees them after each run.
    const exercise = run.exercise_slug === null ? undefined : exercises().bySlug.get(run.exercise_slug)
    const analysed = result as SimulationResult & { analysis?: Analysis }
    if (exercise && analysed.analysis)
      result = {
        ...result,
        checks: measureChecks(exercise.requirements, run.design, { ...analysed, analysis: analysed.analysis })
      } as SimulationResult
    const stored = await store({ id: runId, result, context })
    return { runId, stored, p95: result.overall.p95 }
  }
}

export const job = defineJob({
  message: SimulationJob,
  options: productQueueOptions('simulation', 300),
  // Two fetch loops: a batch waits for its slowest run (at most SIMULATION_TIMEOUT_MS), and the
  // other loop keeps fetching meanwhile, so one slow run never holds back the queue.
  fetchLoops: 2,
  // One run of a user at a time across every worker (a job's group is its owner, src/routes/simulations):
  // a user's run waits behind one run of each other active user, never behind another's whole backlog.
  groupConcurrency: 1,
  // On engine threads a whole batch runs at once: the threads always have the next run queued.
  create: ({ sql, engine }) => ({
    handle: createHandler(sql, engine),
    hooks: markFailedOnFinalFailure(sql, failRun, 'runId'),
    concurrency: engine ? BATCH_SIZE : 1
  })
})
