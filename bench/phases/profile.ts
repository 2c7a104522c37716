import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCollector } from '../lib/collector.ts'
import type { Phase } from '../lib/context.ts'
import { LoadGenerator, spawnNode } from '../lib/load.ts'
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
    // As the Kubernetes sample ships it: one request in ten sampled, the rest with their ids only.
    const sampled = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1'
    }
    const unsampled = { ...sampled, OTEL_TRACES_SAMPLER_ARG: '0' }
    const read = `/workspaces/${ctx.workspaces[2]}`
    const runs: [string, string, string | null, Record<string, string>][] = [
      ['public', '/bench/ping', null, {}],
      ['authenticated', '/bench/me', ctx.token, {}],
      ['authenticatedTracedUnsampled', '/bench/me', ctx.token, unsampled],
      ['authenticatedTracedSampled', '/bench/me', ctx.token, sampled],
      ['read', read, ctx.token, {}],
      ['readTraced', read, ctx.token, traced],
      ['readTracedSampled', read, ctx.token, sampled],
      ['readTracedUnsampled', read, ctx.token, unsampled]
    ]
    for (const [name, path, bearer, env] of runs.filter(([name]) => ctx.wants(name))) {
      // BENCH_PROFILE_DIR keeps each server's .cpuprofile there (for DevTools), under its name.
      const keep = process.env.BENCH_PROFILE_DIR
      const dir = keep ? join(keep, name) : await mkdtemp(join(tmpdir(), 'sdc-prof-'))
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
      if (!keep) await rm(dir, { recursive: true, force: true })
      ctx.log(`  ${name}: ${JSON.stringify(result[name])}`)
    }
    load.stop()
    if (ctx.wants('spanCost'))
      result.spanCost = {
        madeUsPerSpan: await spanCost(ctx.smoke, null),
        exportedUsPerSpan: await spanCost(ctx.smoke, collector)
      }
    ctx.log(`  spanCost: ${JSON.stringify(result.spanCost)}`)
    collector.close()
    return result
  }
}

const SPAN_COST = fileURLToPath(new URL('../lib/span-cost.ts', import.meta.url))

/**
 * The SDK's own CPU per span (bench/lib/span-cost.ts, pinned to core 0): made and ended, or also
 * exported to the collector. An export that lost spans would understate it, so it must not.
 */
async function spanCost(smoke: boolean, collector: { url: string; spans: () => number } | null): Promise<number> {
  const before = collector?.spans() ?? 0
  const env = {
    ...process.env,
    SPAN_COST_REQUESTS: smoke ? '10000' : '100000',
    ...(collector ? { SPAN_COST_OTLP: `${collector.url}/v1/traces` } : {})
  }
  const child = spawnNode(SPAN_COST, env, 0)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`span cost: exited ${code}`)
  const { usPerSpan, spans } = JSON.parse(out) as { usPerSpan: number; spans: number }
  if (collector && collector.spans() - before !== spans)
    throw new Error(`span cost: ${spans} spans made, ${collector.spans() - before} received`)
  return usPerSpan
}
