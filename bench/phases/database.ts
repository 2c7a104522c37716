import { startCollector } from '../lib/collector.ts'
import { type Phase, summary } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { across, aging, compareTargets, ratios, type Target } from '../lib/measure.ts'
import type { Server } from '../lib/servers.ts'

export const database: Phase = {
  name: 'database',
  async run(ctx) {
    ctx.log('database routes: unpinned (Postgres shares the cores)')
    const load = LoadGenerator.start(null)
    // Each variant in several processes, one per round in turn (ctx.processesPerVariant).
    const started: Server[] = []
    const many = async (extra: Record<string, string>) => {
      const list: Server[] = []
      for (let i = 0; i < ctx.processesPerVariant; i++) list.push(await ctx.start('full', extra, null))
      started.push(...list)
      return list
    }
    // A variant's servers start only when a target selected (`--targets`) is served by them.
    const variant = (extra: Record<string, string>, ...served: string[]) =>
      served.some(ctx.wants) ? many(extra) : Promise.resolve([] as Server[])
    const full = await variant({}, 'read', 'autosave', 'enqueue', 'enqueueWithoutJob', 'auditedWrite', 'plainWrite')
    // The same code as `full` in processes of its own: what a ratio of two identical variants reads
    // as, the noise every other ratio here carries.
    const twin = await variant({}, 'readTwin')
    const off = await variant({ REQUEST_TELEMETRY_SAMPLE_RATE: '0' }, 'readTelemetryOff')
    // Tracing on at ratio 1, exporting over OTLP/HTTP to a collector stand-in in this process
    // (it answers and drops what it gets: the cost measured is the api's).
    const collector = await startCollector()
    const traced = await variant(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: 'always_on' },
      'readTraced'
    )
    // As the Kubernetes sample ships it: one trace in ten kept and exported (the rest only carry ids).
    const sampled = await variant(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1'
      },
      'readTracedSampled'
    )
    // Tracing on and no request sampled (ratio 0): what every request pays for its ids alone.
    const unsampled = await variant(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0'
      },
      'readTracedUnsampled'
    )
    // The same spans made and never sent (OTEL_TRACES_EXPORTER=none): what the export costs apart.
    const unexported = await variant(
      { OTEL_TRACES_EXPORTER: 'none', OTEL_TRACES_SAMPLER: 'always_on' },
      'readTracedUnexported'
    )
    const spec = (server: Server, path: string, extra: Partial<Target['spec']> = {}) => ({
      url: `${server.address}${path}`,
      connections: ctx.dbConnections,
      headers: ctx.auth,
      ...extra
    })
    const writes = (server: Server, prefix: string) =>
      spec(server, '/', {
        method: 'POST' as const,
        body: '{}',
        scenario: 'rotate' as const,
        paths: ctx.workspaces.map((w) => `${prefix}/${w}`)
      })
    const enqueues = (server: Server, path: (workspace: string) => string) =>
      spec(server, '/', {
        method: 'POST' as const,
        body: '{}',
        scenario: 'rotate' as const,
        // autocannon lets top-level headers win over a request's: each learner's token goes per request.
        headers: {},
        paths: ctx.learners.map((l) => path(l.workspace)),
        headersList: ctx.learners.map((l) => l.headers)
      })
    await ctx.settle()
    // The authenticated read: one workspace, as a learner's editor loads it.
    const read = `/workspaces/${ctx.workspaces[2]}`
    // A selected target over its variant's servers (a variant left out started none).
    const target = (name: string, servers: Server[], to: (s: Server) => Target['spec']): Target[] =>
      ctx.wants(name) ? [{ name, ...across(servers, to) }] : []
    const targets: Target[] = [
      ...target('read', full, (s) => spec(s, read)),
      ...target('readTwin', twin, (s) => spec(s, read)),
      ...target('readTelemetryOff', off, (s) => spec(s, read)),
      ...target('readTraced', traced, (s) => spec(s, read)),
      ...target('readTracedUnexported', unexported, (s) => spec(s, read)),
      ...target('readTracedSampled', sampled, (s) => spec(s, read)),
      ...target('readTracedUnsampled', unsampled, (s) => spec(s, read)),
      ...target('autosave', full, (s) =>
        spec(s, '/', { scenario: 'autosave', paths: ctx.workspaces.map((w) => `/workspaces/${w}`) })
      ),
      ...target('enqueue', full, (s) => enqueues(s, (w) => `/workspaces/${w}/simulations`)),
      ...target('enqueueWithoutJob', full, (s) => enqueues(s, (w) => `/bench/simulations-without-job/${w}`)),
      ...target('auditedWrite', full, (s) => writes(s, '/bench/write-audited')),
      ...target('plainWrite', full, (s) => writes(s, '/bench/write-plain'))
    ]
    const figures = await compareTargets(load, targets, ctx)
    load.stop()
    for (const server of started) await server.stop()
    collector.close()
    // A ratio of two targets both measured (`--targets` may leave either out).
    const measured = (name: string, a: string, b: string) =>
      figures[a] && figures[b] ? { [name]: ratios(figures, a, b) } : {}
    const result = {
      targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
      ...measured('twinVsRead', 'read', 'readTwin'),
      ...measured('auditedVsPlain', 'plainWrite', 'auditedWrite'),
      ...measured('enqueueVsWithoutJob', 'enqueueWithoutJob', 'enqueue'),
      ...measured('telemetryOnVsOff', 'readTelemetryOff', 'read'),
      ...measured('tracingOnVsOff', 'read', 'readTraced'),
      ...measured('unexportedTracingVsOff', 'read', 'readTracedUnexported'),
      ...measured('sampledTracingVsOff', 'read', 'readTracedSampled'),
      ...measured('unsampledTracingVsOff', 'read', 'readTracedUnsampled'),
      spansExported: collector.spans(),
      aging: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, aging(f)]))
    }
    for (const [k, f] of Object.entries(figures))
      ctx.log(
        `  ${k}: ${f.requestsPerSec} req/s, api ${f.cpuUsPerRequest} µs (by thread ${JSON.stringify(f.threadCpuUsPerRequest)}) + Postgres ${f.dbCpuUsPerRequest} µs CPU/request, non-2xx ${f.non2xx}${f.non2xx ? ` ${JSON.stringify(f.non2xxByStatus)}` : ''}`
      )
    // Leave the simulation jobs those passes queued to the jobs phase, not to the next worker.
    await ctx.sql`delete from pgboss.job where name = 'simulation'`
    await ctx.sql`delete from app.simulation_runs`
    return result
  }
}
