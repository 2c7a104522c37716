import { startCollector } from '../lib/collector.ts'
import { type Phase, summary } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { across, compareTargets, ratios, type Target } from '../lib/measure.ts'
import type { Server } from '../lib/servers.ts'

export const overhead: Phase = {
  name: 'overhead',
  async run(ctx) {
    ctx.log('overhead: trivial routes, server on core 0, autocannon on core 1')
    const load = LoadGenerator.start(1)
    const started: Server[] = []
    const many = async (kind: string, extra: Record<string, string> = {}) => {
      const list: Server[] = []
      for (let i = 0; i < ctx.processesPerVariant; i++) list.push(await ctx.start(kind, extra, 0))
      started.push(...list)
      return list
    }
    const [bare, boilerplate, full] = [await many('bare'), await many('boilerplate'), await many('full')]
    // Tracing at the Kubernetes sample's ratio, on the authenticated route with no statement: what
    // the HTTP path pays for ids and the sampled tenth, apart from Postgres's noise.
    const collector = await startCollector()
    const sampled = ctx.wants('fullAuthenticatedTraced')
      ? await many('full', {
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.1'
        })
      : []
    // Every boilerplate process signs with the same secret: one token serves them all.
    const peerToken = (await ctx.post(`${boilerplate[0].address}/bench/token`, { sub: ctx.userId })).body
      .token as string
    const get = (server: Server, path: string, bearer?: string) => ({
      url: `${server.address}${path}`,
      connections: ctx.connections,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : ({} as Record<string, string>)
    })
    const targets: Target[] = [
      { name: 'bare', ...across(bare, (s) => get(s, '/bench/ping')) },
      { name: 'boilerplatePublic', ...across(boilerplate, (s) => get(s, '/bench/ping')) },
      { name: 'boilerplateAuthenticated', ...across(boilerplate, (s) => get(s, '/bench/me', peerToken)) },
      { name: 'fullPublic', ...across(full, (s) => get(s, '/bench/ping')) },
      { name: 'fullAuthenticated', ...across(full, (s) => get(s, '/bench/me', ctx.token)) },
      ...(sampled.length
        ? [{ name: 'fullAuthenticatedTraced', ...across(sampled, (s) => get(s, '/bench/me', ctx.token)) }]
        : [])
    ]
    // Trivial routes: Postgres has no part in them, so its CPU is not read.
    const figures = await compareTargets(load, targets, { ...ctx, dbCpu: undefined })
    load.stop()
    for (const s of started) await s.stop()
    collector.close()
    const result = {
      targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
      fullPublicVsBare: ratios(figures, 'bare', 'fullPublic'),
      fullAuthenticatedVsBare: ratios(figures, 'bare', 'fullAuthenticated'),
      boilerplatePublicVsBare: ratios(figures, 'bare', 'boilerplatePublic'),
      fullAuthenticatedVsBoilerplate: ratios(figures, 'boilerplateAuthenticated', 'fullAuthenticated'),
      ...(figures.fullAuthenticatedTraced
        ? { sampledTracingVsOff: ratios(figures, 'fullAuthenticated', 'fullAuthenticatedTraced') }
        : {})
    }
    for (const [k, f] of Object.entries(figures))
      ctx.log(`  ${k}: ${f.requestsPerSec} req/s, ${f.cpuUsPerRequest} µs CPU/request`)
    return result
  }
}
