import type { JobWithMetadata } from 'pg-boss'
import type { Static } from 'typebox'
import { pgArray, type Sql } from '../src/db/client.ts'
import { simulateAndAnalyze } from '../src/domain/analysis.ts'
import type { SimulationResult } from '../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import { validateDesign } from '../src/domain/validate.ts'
import { type EnginePool, isPermanentEngineError } from '../src/engine/pool.ts'
import { PermanentJobError } from '../src/queue/jobs.ts'
import { Uuid } from '../src/schemas.ts'
import { coalesce } from './coalesce.ts'
import { BATCH_SIZE, defineJob, jobPayload } from './define.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'

const Payload = jobPayload({ runId: Uuid })
export type SimulationJob = Static<typeof Payload>

interface RunRow {
  id: string
  status: string
  design: Design
  traffic: TrafficProfile
  seed: number
}

/**
 * Without a pool the simulation runs on the calling thread (tests, one-off tools). The handler's
 * two statements are coalesced across the jobs it runs at once: a batch claims its runs, and
 * stores their results, in a few statements, not one round trip per job each.
 */
export function createHandler(sql: Sql, engine: EnginePool | null = null) {
  const claim = coalesce(async (ids: string[]) => {
    const rows = await sql<RunRow[]>`
      update app.simulation_runs
      set status = 'running', started_at = coalesce(started_at, now()), attempts = attempts + 1
      where id = any(${pgArray(ids)}::uuid[])
        and status in ('queued', 'running')
      returning id, status, design, traffic, seed
    `
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id) ?? null)
  })
  // Exactly once: a retried or duplicated job finds the row completed and writes nothing.
  const store = coalesce(async (results: { id: string; result: SimulationResult }[]) => {
    const rows = await sql<{ id: string }[]>`
      update app.simulation_runs r
      set status = 'completed', result = v.result, completed_at = now(), error = null
      from jsonb_to_recordset(${sql.json(results as never)}) as v(id uuid, result jsonb)
      where r.id = v.id
        and r.status <> 'completed'
      returning r.id
    `
    // A run delivered twice in one statement is written once, and reported stored once.
    const stored = new Set(rows.map((row) => row.id))
    return results.map(({ id }) => stored.delete(id))
  })

  return async function simulation(job: JobWithMetadata<SimulationJob>): Promise<unknown> {
    const runId = job.data.runId.toLowerCase()
    const run = await claim(runId)
    if (!run) {
      // Already completed (a duplicate delivery), failed, or deleted with its workspace: nothing to do.
      const [existing] = await sql<{ status: string }[]>`select status from app.simulation_runs where id = ${runId}`
      return { runId, skipped: existing?.status ?? 'deleted' }
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
    const stored = await store({ id: runId, result })
    return { runId, stored, p95: result.overall.p95 }
  }
}

export const job = defineJob({
  name: 'simulation',
  options: productQueueOptions('simulation', 300),
  payload: Payload,
  // Two fetch loops: a batch waits for its slowest run (at most SIMULATION_TIMEOUT_MS), and the
  // other loop keeps fetching meanwhile, so one slow run never holds back the queue.
  fetchLoops: 2,
  // One run of a user at a time across every worker (a job's group is its owner, src/routes/simulations):
  // a user's run waits behind one run of each other active user, never behind another's whole backlog.
  groupConcurrency: 1,
  // On engine threads a whole batch runs at once: the threads always have the next run queued.
  create: ({ sql, engine }) => ({
    handle: createHandler(sql, engine),
    hooks: markFailedOnFinalFailure(sql, 'simulation_runs', 'runId'),
    concurrency: engine ? BATCH_SIZE : 1
  })
})
