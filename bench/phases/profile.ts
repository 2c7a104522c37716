import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCollector } from '../lib/collector.ts'
import type { Phase } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { costPerRequest } from '../lib/profile.ts'

const nowUs = () => Number(process.hrtime.bigint() / 1000n)

/**
 * The full stack's trivial routes under `node --cpu-prof` (server pinned to core 0, autocannon on
 * core 1): where each request's CPU goes; and the authenticated read with tracing off and on (at
 * ratio 1, exporting to a collector stand-in), for what tracing costs a request. The profiler
 * slows everything down, so the totals are higher than the overhead phase's; the shares are what
 * this phase is for.
 */
export const profile: Phase = {
  name: 'profile',
  async run(ctx) {
    ctx.log('profile: the full stack under node --cpu-prof, public and authenticated routes')
    const result: Record<string, unknown> = {}
    const load = LoadGenerator.start(1)
    const collector = await startCollector()
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: 'always_on' }
    const read = `/workspaces/${ctx.workspaces[2]}`
    for (const [name, path, bearer, env] of [
      ['public', '/bench/ping', null, {}],
      ['authenticated', '/bench/me', ctx.token, {}],
      ['read', read, ctx.token, {}],
      ['readTraced', read, ctx.token, traced]
    ] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'sdc-prof-'))
      const server = await ctx.start('full', { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`, ...env }, 0)
      const spec = {
        url: `${server.address}${path}`,
        connections: ctx.connections,
        headers: (bearer ? { authorization: `Bearer ${bearer}` } : {}) as Record<string, string>
      }
      await load.run({ ...spec, seconds: ctx.warmupSeconds })
      const from = nowUs()
      const run = await load.run({ ...spec, seconds: ctx.smoke ? 1 : 5 })
      const to = nowUs()
      await server.stop()
      const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
      if (!file) throw new Error(`profile: the ${name} server wrote no profile`)
      result[name] = {
        ...(await costPerRequest(join(dir, file), from, to, Math.max(1, run.total))),
        non2xx: run.non2xx
      }
      await rm(dir, { recursive: true, force: true })
      ctx.log(`  ${name}: ${JSON.stringify(result[name])}`)
    }
    load.stop()
    collector.close()
    return result
  }
}
