import { urlAs } from '../../src/db/roles.ts'
import { type Phase, summary } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { across, compareTargets, cpuRatios, type Figures, ratios, type Target } from '../lib/measure.ts'
import type { Server } from '../lib/servers.ts'

/** A login with BYPASSRLS and the app's privileges: the server "without row-level security". */
const BYPASS_ROLE = 'sdc_bench_bypassrls'

/**
 * Row-level security's cost on the routes it guards: the authenticated workspace read and the
 * audited write as the product serves them (the app's role, policies on; the write's `SET LOCAL`
 * in its transaction, the read's in its one statement, app.workspace_as), against the same statements as they ran before the policies were the authority
 * (no transaction for the read, no `SET LOCAL`) on a server logging in as a BYPASSRLS member of
 * sdc_app. Unpinned (Postgres shares the cores), several processes per variant, ratios by the
 * api's CPU per request and by the api's and Postgres's together.
 */
export const rls: Phase = {
  name: 'rls',
  async run(ctx) {
    ctx.log('rls: the workspace read and the audited write with and without row-level security')
    await ctx.sql.unsafe(
      `do $$ begin
         if not exists (select 1 from pg_roles where rolname = '${BYPASS_ROLE}') then
           create role ${BYPASS_ROLE} login bypassrls nosuperuser inherit in role sdc_app;
         end if;
       end $$`
    )
    const load = LoadGenerator.start(null)
    const started: Server[] = []
    const many = async (extra: Record<string, string>) => {
      const list: Server[] = []
      for (let i = 0; i < ctx.processesPerVariant; i++) list.push(await ctx.start('full', extra, null))
      started.push(...list)
      return list
    }
    const on = await many({})
    const off = await many({ DATABASE_URL: urlAs(ctx.env.DATABASE_URL, BYPASS_ROLE) })
    const spec = (server: Server, path: string) => ({
      url: `${server.address}${path}`,
      connections: ctx.dbConnections,
      headers: ctx.auth
    })
    const writes = (server: Server, prefix: string) => ({
      ...spec(server, '/'),
      method: 'POST' as const,
      body: '{}',
      scenario: 'rotate' as const,
      paths: ctx.workspaces.map((w) => `${prefix}/${w}`)
    })
    await ctx.settle()
    const workspace = ctx.workspaces[2]
    const targets: Target[] = [
      { name: 'read', ...across(on, (s) => spec(s, `/workspaces/${workspace}`)) },
      { name: 'readWithoutRls', ...across(off, (s) => spec(s, `/bench/read-without-rls/${workspace}`)) },
      { name: 'auditedWrite', ...across(on, (s) => writes(s, '/bench/write-audited')) },
      { name: 'auditedWriteWithoutRls', ...across(off, (s) => writes(s, '/bench/write-audited-without-rls')) }
    ]
    const figures = await compareTargets(load, targets, ctx)
    load.stop()
    for (const server of started) await server.stop()
    const result = {
      targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
      readRlsVsWithout: withTotal(ratios(figures, 'readWithoutRls', 'read'), figures, 'readWithoutRls', 'read'),
      writeRlsVsWithout: withTotal(
        ratios(figures, 'auditedWriteWithoutRls', 'auditedWrite'),
        figures,
        'auditedWriteWithoutRls',
        'auditedWrite'
      )
    }
    for (const [k, f] of Object.entries(figures))
      ctx.log(
        `  ${k}: ${f.requestsPerSec} req/s, api ${f.cpuUsPerRequest} µs + Postgres ${f.dbCpuUsPerRequest} µs CPU/request, non-2xx ${f.non2xx}${f.non2xx ? ` ${JSON.stringify(f.non2xxByStatus)}` : ''}`
      )
    ctx.log(
      `  rls vs without: read ${result.readRlsVsWithout.totalCpu}× by api+Postgres CPU, write ${result.writeRlsVsWithout.totalCpu}×`
    )
    return result
  }
}

/** The ratio with `totalCpu`: a's over b's api plus Postgres CPU per request, per round (median, middle half). */
function withTotal<R extends { spread: Record<string, [number, number]> }>(
  ratio: R,
  figures: Record<string, Figures>,
  a: string,
  b: string
) {
  const { cpu } = cpuRatios(figures, a, b, (p) => p.cpuUsPerRequest + (p.dbCpuUsPerRequest ?? 0))
  return { ...ratio, totalCpu: cpu.median, spread: { ...ratio.spread, totalCpu: cpu.spread } }
}
