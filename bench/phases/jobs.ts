import { startWorker, stopProcess } from '../../test/helpers/stack.ts'
import { waitFor } from '../../test/helpers/wait.ts'
import type { Phase } from '../lib/context.ts'
import { processCpuUs } from '../lib/cpu.ts'
import { type Figures, round } from '../lib/measure.ts'

export const jobs: Phase = {
  name: 'jobs',
  async run(ctx) {
    ctx.log('jobs: the CPU one simulation job costs the worker and Postgres')
    const jobs = ctx.smoke ? 50 : 2000
    const worker = await startWorker({ ...ctx.env, LOG_LEVEL: 'info', WORKER_SUPERVISE_INTERVAL_SECONDS: '15' }, [
      '--queues',
      'simulation'
    ])
    // Runs and their jobs, due two seconds from now: the CPU snapshot is taken after they are written.
    await ctx.sql`
      with runs as (
        insert into app.simulation_runs (workspace_id, owner_id, design, traffic, seed)
        select w.id, w.owner_id, w.design, '{"peakRps": 100, "readRatio": 0.8, "payloadKb": 4, "latencySloMs": 300}'::jsonb, g
        from app.workspaces w, generate_series(1, ${jobs}) g
        where w.id = ${ctx.workspaces[5]}
        returning id, owner_id
      )
      insert into pgboss.job (id, name, data, start_after, expire_seconds, retry_limit, dead_letter, heartbeat_seconds)
      select gen_random_uuid(), 'simulation', jsonb_build_object('runId', id, 'ownerId', owner_id), now() + interval '2 seconds', 300, 3, 'simulation_dead', 10
      from runs
    `
    const before = { worker: processCpuUs(worker.child.pid as number), db: ctx.dbCpu() }
    const t0 = Date.now()
    await waitFor(
      async () =>
        (await ctx.sql`select count(*)::int as n from app.simulation_runs where status <> 'completed'`)[0].n === 0,
      { timeoutMs: 600_000, intervalMs: 100, what: 'the simulation jobs to drain' }
    )
    const seconds = (Date.now() - t0) / 1000 - 2
    const cost = {
      workerCpuUsPerJob: round((processCpuUs(worker.child.pid as number) - before.worker) / jobs, 1),
      dbCpuUsPerJob: round((ctx.dbCpu() - before.db) / jobs, 1)
    }
    await stopProcess(worker)
    const enqueue = (ctx.report.database as { targets?: Record<string, Figures> } | undefined)?.targets?.enqueue
    const result = {
      jobs,
      drainSeconds: round(seconds, 2),
      ...cost,
      enqueueApiCpuUsPerRequest: enqueue?.cpuUsPerRequest ?? null,
      enqueueDbCpuUsPerRequest: enqueue?.dbCpuUsPerRequest ?? null
    }
    ctx.log(`  ${jobs} jobs: worker ${cost.workerCpuUsPerJob} µs + Postgres ${cost.dbCpuUsPerJob} µs CPU per job`)
    return result
  }
}
