import { startWorker, stopProcess } from '../../test/helpers/stack.ts'
import type { Phase } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { type Figures, percentile, round } from '../lib/measure.ts'

export const timeToResult: Phase = {
  name: 'timeToResult',
  async run(ctx) {
    ctx.log('time to result: POST a simulation, then poll its run every 5 ms until completed')
    const api = await ctx.start('full', {}, null)
    const worker = await startWorker({ ...ctx.env, LOG_LEVEL: 'info', WORKER_SUPERVISE_INTERVAL_SECONDS: '15' }, [
      '--queues',
      'simulation'
    ])
    const once = async () => {
      const t0 = performance.now()
      const res = await ctx.post(`${api.address}/workspaces/${ctx.workspaces[3]}/simulations`, {}, ctx.auth)
      const id = res.body.id as string
      for (;;) {
        const run = (await (await fetch(`${api.address}/simulations/${id}`, { headers: ctx.auth })).json()) as {
          status: string
        }
        if (run.status === 'completed' || run.status === 'failed') return performance.now() - t0
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    const count = ctx.smoke ? 5 : 100
    for (let i = 0; i < 3; i++) await once()
    const idle: number[] = []
    for (let i = 0; i < count; i++) idle.push(await once())
    // Under load: half the enqueue route's peak rate (from the database phase) for the whole sample.
    const peak = (ctx.report.database as { targets?: Record<string, Figures> } | undefined)?.targets?.enqueue
    const rate = Math.max(10, Math.round((peak?.requestsPerSec ?? 400) / 2))
    const load = LoadGenerator.start(null)
    // The background runs come from the learners, each on a workspace of their own: a user's runs
    // run one at a time (fairness), so the timed user must not be the one loading the queue.
    const background = load.run({
      url: api.address,
      connections: 10,
      method: 'POST',
      headers: {},
      scenario: 'rotate',
      paths: ctx.learners.map((l) => `/workspaces/${l.workspace}/simulations`),
      headersList: ctx.learners.map((l) => l.headers),
      body: '{}',
      overallRate: rate,
      seconds: ctx.smoke ? 2 : 10
    })
    await new Promise((r) => setTimeout(r, 500))
    const loaded: number[] = []
    const until = Date.now() + (ctx.smoke ? 1000 : 8500)
    while (Date.now() < until) loaded.push(await once())
    const backgroundRun = await background
    load.stop()
    await stopProcess(worker)
    await api.stop()
    const figures = (xs: number[]) => ({
      runs: xs.length,
      p50: round(percentile(xs, 0.5), 1),
      p99: round(percentile(xs, 0.99), 1)
    })
    const result = {
      idle: figures(idle),
      underLoad: { ...figures(loaded), enqueueRate: rate, backgroundRequestsPerSec: backgroundRun.requestsPerSec }
    }
    ctx.log(`  idle: ${JSON.stringify(figures(idle))}; under ${rate} enqueues/s: ${JSON.stringify(figures(loaded))}`)
    await ctx.sql`delete from pgboss.job where name = 'simulation'`
    await ctx.sql`delete from app.simulation_runs`
    return result
  }
}
