import type { JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { simulate } from '../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import { validateDesign } from '../src/domain/validate.ts'
import type { EnginePool } from './engine-pool.ts'
import { uuidField } from './payload.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'
import type { QueueDefinition } from './queues.ts'
import { PermanentJobError, type TelemetryHooks, type Traced } from './telemetry.ts'

export const queue: QueueDefinition = {
  name: 'simulation',
  options: productQueueOptions('simulation', 300)
}

export type SimulationJob = { runId: string } & Traced

interface RunRow {
  id: string
  status: string
  design: Design
  traffic: TrafficProfile
  seed: number
}

/** Without a pool the simulation runs on the calling thread (tests, one-off tools). */
export function createHandler(sql: Sql, engine: EnginePool | null = null) {
  return async function simulation(job: JobWithMetadata<SimulationJob>): Promise<unknown> {
    const runId = uuidField(job.data, 'runId')
    const [run] = await sql<RunRow[]>`
      update app.simulation_runs
      set status = 'running', started_at = coalesce(started_at, now()), attempts = attempts + 1
      where id = ${runId}
        and status in ('queued', 'running')
      returning id, status, design, traffic, seed
    `
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
    const result = engine
      ? await engine.run(run.design, run.traffic, run.seed)
      : simulate(run.design, run.traffic, { seed: run.seed })
    // Exactly once: a retried or duplicated job finds the row completed and writes nothing.
    const stored = await sql`
      update app.simulation_runs
      set status = 'completed', result = ${sql.json(result as never)}, completed_at = now(), error = null
      where id = ${runId}
        and status <> 'completed'
      returning id
    `
    return { runId, stored: stored.length === 1, p95: result.overall.p95 }
  }
}

export function hooks(sql: Sql): TelemetryHooks<SimulationJob> {
  return markFailedOnFinalFailure(sql, 'simulation_runs', 'runId')
}
