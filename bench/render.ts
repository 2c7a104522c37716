// `npm run docs:bench`: docs/benchmarks.md, rendered from bench/results/latest.json (the last full
// `npm run bench`). test/bench.test.ts fails when it is stale, so no figure is copied by hand.
import { readFile, writeFile } from 'node:fs/promises'
import type { Ratio as MeasuredRatio } from './lib/measure.ts'

// The saved JSON is written by bench/run.ts in this folder; its shape is read as it is.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Report = Record<string, any>
type Row = {
  requestsPerSec: number
  cpuUsPerRequest: number
  /** Runs before it was measured have none. */
  mainCpuUsPerRequest?: number
  dbCpuUsPerRequest?: number
  non2xx: number
}
/** A saved ratio: runs before the middle half was recorded have no spread. */
type Ratio = Omit<MeasuredRatio, 'spread'> & Partial<Pick<MeasuredRatio, 'spread'>>

const ok = (met: boolean) => (met ? 'met' : '**not met**')

export interface TargetCheck {
  label: string
  measured: string
  target: string
  met: boolean
}

/** The ratios and waits against their targets (docs/benchmarks.md, the README and docs/beta-readiness.md show them). */
export function targetChecks(r: Report): TargetCheck[] {
  const o = r.overhead
  const d = r.database
  const tr = r.timeToResult
  // The median of the paired passes' ratios, and (in runs that saved it) their middle half.
  const atLeast = (label: string, ratio: Ratio, by: 'cpu' | 'throughput', min: string) => {
    const spread = ratio.spread?.[by]
    return {
      label,
      measured: `${ratio[by]}×${spread ? ` (${spread[0]}–${spread[1]})` : ''}`,
      target: `≥ ${min}×`,
      met: ratio[by] >= Number(min)
    }
  }
  return [
    atLeast('full stack, public route, vs bare (by CPU)', o.fullPublicVsBare, 'cpu', '0.55'),
    atLeast('full stack, authenticated route, vs bare (by CPU)', o.fullAuthenticatedVsBare, 'cpu', '0.45'),
    atLeast("authenticated throughput vs the boilerplate's", o.fullAuthenticatedVsBoilerplate, 'throughput', '2'),
    atLeast('audited write vs unaudited (req/s)', d.auditedVsPlain, 'throughput', '0.80'),
    atLeast('enqueue vs the same without its job (req/s)', d.enqueueVsWithoutJob, 'throughput', '0.75'),
    atLeast('telemetry on vs off (req/s)', d.telemetryOnVsOff, 'throughput', '0.95'),
    atLeast('tracing on (ratio 1) vs off, authenticated read (by CPU)', d.tracingOnVsOff, 'cpu', '0.91'),
    {
      label: 'time to result, idle: p50 / p99',
      measured: `${tr.idle.p50} / ${tr.idle.p99} ms`,
      target: '≤ 100 / 300 ms',
      met: tr.idle.p50 <= 100 && tr.idle.p99 <= 300
    },
    {
      label: `time to result at ${tr.underLoad.enqueueRate} enqueues/s (half the peak): p99`,
      measured: `${tr.underLoad.p99} ms`,
      target: '≤ 1 000 ms',
      met: tr.underLoad.p99 <= 1000
    },
    ...(r.engine?.features50 ? engineChecks(r.engine) : [])
  ]
}

/** The engine's targets: a run of the every-feature design, and what the coach computes beside it. */
function engineChecks(e: Report): TargetCheck[] {
  const atMost = (label: string, ms: number, max: number) => ({
    label,
    measured: `${ms} ms`,
    target: `≤ ${max} ms`,
    met: ms <= max
  })
  return [
    atMost('engine: a run, 50 components using every feature', e.features50.msPerSimulation, 10),
    atMost('engine: a run, 500 components using every feature', e.features500.msPerSimulation, 100),
    atMost(
      'engine: a run with its analysis, 50 components, every feature',
      e.analysisFeatures50.msPerRunWithAnalysis,
      250
    ),
    atMost('engine: a preview, 50 components, every feature', e.analysisFeatures50.msPerPreview, 20)
  ]
}

function comparisonTable(r: Report): string[] {
  return [
    '| comparison (ratios in one run) | median (middle half of the passes) | target | |',
    '| --- | --- | --- | --- |',
    ...targetChecks(r).map((c) => `| ${c.label} | ${c.measured} | ${c.target} | ${ok(c.met)} |`)
  ]
}

/** The machine a run measured (runs saved before it was recorded: the project's 2-core machine). */
const machine = (r: Report) =>
  r.machine
    ? `${r.machine.cores} cores of ${r.machine.cpu.trim()}, Node ${r.machine.node}`
    : "the project's 2-core machine"

/** The current figures against the benchmark issue's targets. */
function targetsTable(r: Report): string {
  const t = r.overhead.targets as Record<string, Row>
  const lines = [
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${machine(r)}.`,
    '',
    '| target | req/s | server CPU µs/request |',
    '| --- | --- | --- |',
    ...(
      [
        ['bare Fastify', 'bare'],
        ['boilerplate (helmet, cors, rate-limit), public route', 'boilerplatePublic'],
        ['boilerplate + @fastify/jwt, authenticated route', 'boilerplateAuthenticated'],
        ['this project, public route', 'fullPublic'],
        ['this project, authenticated route', 'fullAuthenticated']
      ] as const
    ).map(([label, key]) => `| ${label} | ${t[key].requestsPerSec} | ${t[key].cpuUsPerRequest} |`),
    '',
    ...comparisonTable(r),
    '',
    clientBound(t, r.overhead.fullAuthenticatedVsBoilerplate.cpu)
  ]
  return lines.join('\n')
}

/**
 * Whether the authenticated comparison's throughput is the server's or autocannon's: a server
 * core far from busy was waiting on the load generator (one core, parsing every response).
 */
function clientBound(t: Record<string, Row>, byCpu: number): string {
  const busy = (row: Row) => Math.round((row.requestsPerSec * row.cpuUsPerRequest) / 10_000)
  const full = t.fullAuthenticated
  const peer = t.boilerplateAuthenticated
  return `On the authenticated route the boilerplate's server core was ${busy(peer)} % busy and this project's ${busy(full)} %: ${busy(full) < 90 ? 'autocannon, on its one core, could not ask faster, so the throughput ratio understates the server; by CPU per request' : 'both were server-bound; by CPU per request'} this project serves ${byCpu}× the boilerplate's requests per core. HMAC-SHA256, which the boilerplate pays on every request and this project once per token, costs far less on a CPU with SHA extensions, so this ratio moves with the machine.`
}

const NODE_HTTP = 'Node HTTP and streams'
const WRITES = 'socket writes (the kernel)'
const round1 = (x: number) => Math.round(x * 10) / 10

/** The profile phase: µs per request by part of the stack, public and authenticated routes side by side. */
function profileSection(r: Report): string {
  const p = r.profile
  if (!p) return 'This run had no profile phase.'
  const parts = [...new Set([...Object.keys(p.public.parts), ...Object.keys(p.authenticated.parts)])]
  const cell = (route: string, part: string) => p[route].parts[part] ?? 0
  const share = (route: string, part: string) =>
    `${cell(route, part)} (${Math.round((cell(route, part) / p[route].totalUsPerRequest) * 100)} %)`
  return [
    'From `node --cpu-prof` on the full stack (server pinned, samples taken only while the load ran; the',
    'profiler adds some cost of its own, so the shares are what counts).',
    `Node's HTTP layer and the socket writes are ${round1(cell('public', NODE_HTTP) + cell('public', WRITES))} of the public route's ${p.public.totalUsPerRequest} µs; bare Fastify's whole request is ${r.overhead.targets.bare.cpuUsPerRequest} µs,`,
    'so most of the gap to it is what every hardened request pays: more response headers written, more',
    'hooks run, and the telemetry row.',
    'Everything the hardened stack does stays on; what a request does not need is not done for it: the',
    'handler deadline is one sweep for all requests in progress rather than a timer each, a token verified',
    'once is found by its text until it expires (no HMAC, no SHA-256 cache key), an IPv4 address skips the',
    'IPv6 parse, a cached token and user state admit without a promise, telemetry rows travel as JSON',
    "arrays in one statement per 500. Every answer carries the seed's whole secure header set (Referrer-Policy",
    "and Permissions-Policy included, as the boilerplate's helmet sends them): like is compared with like.",
    '',
    '| part of the stack | public route, µs/request | authenticated route, µs/request |',
    '| --- | --- | --- |',
    ...parts.map((part) => `| ${part} | ${share('public', part)} | ${share('authenticated', part)} |`),
    `| **total** | **${p.public.totalUsPerRequest}** | **${p.authenticated.totalUsPerRequest}** |`,
    ...tracingCost(r)
  ].join('\n')
}

const OTEL = 'OpenTelemetry (spans, context, OTLP export)'

/** The database phase's split of tracing's cost: spans made and sent, and made but never sent. */
function unexported(r: Report): string {
  const d = r.database
  if (!d.unexportedTracingVsOff) return ''
  // CPU a request, relative to untraced: 1 / ratio; what the export adds is the difference.
  const added = 1 / d.tracingOnVsOff.cpu - 1
  const spans = 1 / d.unexportedTracingVsOff.cpu - 1
  const exportShare = Math.round((Math.max(0, added - spans) / added) * 100)
  return `In the database phase (by CPU, api process) tracing at ratio 1 keeps ${d.tracingOnVsOff.cpu}× of the untraced read; with the same spans made but never sent (\`OTEL_TRACES_EXPORTER=none\`: ids in headers, logs and rows) it keeps ${d.unexportedTracingVsOff.cpu}×: of the CPU tracing adds, about ${exportShare} % is the export (encoding every span, sending the batches, the garbage they leave) and the rest the spans themselves.${threadSplit(r)}`
}

/** Where the traced read's CPU runs: Node's main thread, or V8's background threads (runs before it had none). */
function threadSplit(r: Report): string {
  const { read, readTraced } = r.database.targets as Record<string, Row>
  if (read.mainCpuUsPerRequest === undefined || readTraced.mainCpuUsPerRequest === undefined) return ''
  const background = (row: Row) => round1(row.cpuUsPerRequest - (row.mainCpuUsPerRequest ?? 0))
  return ` By thread (\`/proc\`, medians): the main thread spends ${read.mainCpuUsPerRequest} µs a read untraced and ${readTraced.mainCpuUsPerRequest} µs traced; V8's background threads (garbage collection, compilation) ${background(read)} and ${background(readTraced)} µs. A profile sees the first only.`
}

/** Tracing as the Kubernetes sample configures it: one trace in ten (runs before it had none). */
function sampledCost(r: Report): string {
  const sampled = r.database.sampledTracingVsOff as Ratio | undefined
  if (!sampled)
    return 'A lower ratio (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`) pays it only for the traces it keeps.'
  return `At the ratio the Kubernetes sample ships (\`parentbased_traceidratio\`, 0.1: every request still gets its trace id, one in ten is recorded and exported) the read keeps ${sampled.cpu}×${sampled.spread ? ` (${sampled.spread.cpu[0]}–${sampled.spread.cpu[1]})` : ''} of its untraced CPU.`
}

/** The SDK's own cost per span, apart from any server, against what the 10 % target leaves the read. */
function sdkCost(r: Report): string {
  const cost = (r.profile as { spanCost?: { madeUsPerSpan: number; exportedUsPerSpan: number } }).spanCost
  if (!cost) return ''
  const read = r.database.targets.read.cpuUsPerRequest
  return ` Apart from any server (\`bench/lib/span-cost.ts\`, pinned), the official SDK spends ${cost.madeUsPerSpan} µs of CPU to make and end one span like these and ${cost.exportedUsPerSpan} µs to make it and send it over OTLP/HTTP: the read's two spans alone cost ${round1(2 * cost.exportedUsPerSpan)} µs, where a 10 % budget on its ${read} µs allows ${round1(read / 10)} µs${2 * cost.exportedUsPerSpan > read / 10 ? ': at ratio 1 the target is out of reach of the SDK on a route this cheap, before the garbage the spans leave' : ''}.`
}

/** What tracing at ratio 1 adds to the authenticated read, by the profile (runs before it had none). */
function tracingCost(r: Report): string[] {
  const { read, readTraced } = r.profile as Record<string, { totalUsPerRequest: number; parts: Record<string, number> }>
  if (!read || !readTraced) return []
  const added = round1(readTraced.totalUsPerRequest - read.totalUsPerRequest)
  const grew = Object.keys(readTraced.parts)
    .map((part) => [part, round1((readTraced.parts[part] ?? 0) - (read.parts[part] ?? 0))] as const)
    .filter(([part, us]) => part !== OTEL && us >= 1)
    .sort((a, b) => b[1] - a[1])
  return [
    '',
    `Tracing at ratio 1 (every request, exported over OTLP/HTTP to a collector stand-in): the authenticated read costs ${read.totalUsPerRequest} µs a request off and ${readTraced.totalUsPerRequest} µs on (+${added} µs, ${Math.round((added / read.totalUsPerRequest) * 100)} %). OpenTelemetry's own code is ${readTraced.parts[OTEL] ?? 0} µs of it (starting and ending the server span and the statement spans, the context, the batch's protobuf encoding); the rest grew in ${grew.map(([part, us]) => `${part} (+${us})`).join(', ')}. ${unexported(r)}${sdkCost(r)} ${sampledCost(r)}`
  ]
}

/** Each database target's CPU a request in the last round over the first (runs before it had none). */
function agingLine(aging: Record<string, number> | undefined): string[] {
  if (!aging) return []
  const list = Object.entries(aging).map(([k, x]) => `${k} ${x}×`)
  return [
    '',
    `A server that slowed as it aged would show here: CPU a request in the last round over the first, ${list.join(', ')}.`,
    'Runs before this figure measured servers that did: postgres.js kept a slot in a pool queue for every',
    'query it had served, and scanned them all at each connection move (patched since:',
    '`patches/postgres+3.4.9+003+queue-compaction.patch`), so their database figures grew with the run.'
  ]
}

/** docs/benchmarks.md: every figure of the last run. */
export function benchmarksDoc(r: Report): string {
  const rows = (targets: Record<string, Row>) =>
    Object.entries(targets).map(
      ([k, f]) => `| ${k} | ${f.requestsPerSec} | ${f.cpuUsPerRequest} | ${f.dbCpuUsPerRequest ?? '–'} | ${f.non2xx} |`
    )
  const ratioRows = (section: Record<string, unknown>) =>
    Object.entries(section)
      .filter(([, v]) => v && typeof v === 'object' && 'cpu' in (v as object))
      .map(([k, v]) => `| ${k} | ${(v as Ratio).cpu}× | ${(v as Ratio).throughput}× |`)
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run docs:bench\` from \`bench/results/latest.json\` (run of ${r.startedAt}, ${r.elapsedSeconds} s).`,
    'Method: each server runs in its own process and autocannon in another (the trivial routes with',
    'the server pinned to core 0 and autocannon to core 1; the database routes unpinned, as Postgres',
    `shares the cores); ${r.method.warmupSeconds ? `a ${r.method.warmupSeconds}-second warm-up pass of each target, then ` : ''}${r.method.rounds} rounds of one-second passes there and back, medians; CPU from /proc.`,
    '`npm run bench -- --compare` flags CPU µs per request or ratios more than 20 % worse than the saved run,',
    'and a database server whose CPU a request grew more than 20 % from its first round to its last.',
    'Figures before this method ran autocannon inside the measured process, which added the client’s',
    'cost to both sides of every ratio and flattered them (the old 0.67× public-route ratio is about',
    '0.5× measured this way).',
    '',
    '## Against the targets',
    '',
    targetsTable(r),
    '',
    '## Where a request’s CPU goes',
    '',
    profileSection(r),
    '',
    '## Trivial routes',
    '',
    '| target | req/s | server CPU µs/request | Postgres CPU µs/request | non-2xx |',
    '| --- | --- | --- | --- | --- |',
    ...rows(r.overhead.targets),
    '',
    '| ratio (b vs a, per round, median) | by CPU µs | by req/s |',
    '| --- | --- | --- |',
    ...ratioRows(r.overhead),
    '',
    '## Database routes',
    '',
    '| target | req/s | server CPU µs/request | Postgres CPU µs/request | non-2xx |',
    '| --- | --- | --- | --- | --- |',
    ...rows(r.database.targets),
    '',
    '| ratio | by CPU µs | by req/s |',
    '| --- | --- | --- |',
    ...ratioRows(r.database),
    '',
    'The autosave passes measure a few 409s: a save cut off at the end of a pass was applied, so the',
    'next pass starts one version behind on each workspace.',
    ...agingLine(r.database.aging),
    '',
    '## Time to result',
    '',
    `From \`POST /workspaces/:id/simulations\` to the run read as completed (polled every 5 ms): idle p50 ${r.timeToResult.idle.p50} ms, p99 ${r.timeToResult.idle.p99} ms over ${r.timeToResult.idle.runs} runs; while ${r.timeToResult.underLoad.enqueueRate} enqueues/s arrive, p50 ${r.timeToResult.underLoad.p50} ms, p99 ${r.timeToResult.underLoad.p99} ms over ${r.timeToResult.underLoad.runs} runs.`,
    '',
    '## One simulation job',
    '',
    `${r.jobs.jobs} jobs drained in ${r.jobs.drainSeconds} s: the worker spent ${r.jobs.workerCpuUsPerJob} µs and Postgres ${r.jobs.dbCpuUsPerJob} µs of CPU per job, against ${r.jobs.enqueueApiCpuUsPerRequest} µs (api) and ${r.jobs.enqueueDbCpuUsPerRequest} µs (Postgres) per enqueue request.`,
    '',
    '## Engine',
    '',
    `Timed in the bench's process after a second of warm-up runs (a worker's steady state). Chains of 5, 50 and 500 components: ${r.engine.components5.msPerSimulation}, ${r.engine.components50.msPerSimulation} and ${r.engine.components500.msPerSimulation} ms per run (20 000 Monte-Carlo paths).${r.engine.features50 ? ` Designs using every feature (splits, random balancing, variability, finite queues, delays, network time, timeouts with retries, queues and workers; \`featureDesign\` in bench/lib/context.ts) of 50 and 500 components: ${r.engine.features50.msPerSimulation} and ${r.engine.features500.msPerSimulation} ms per run, against targets of 10 and 100 ms.` : ''}${r.engine.analysisChain50 ? ` A run with its analysis (sweep, failure scenarios, availability, cost, sizes): ${r.engine.analysisChain50.msPerRunWithAnalysis} ms for the 50-component chain and ${r.engine.analysisFeatures50.msPerRunWithAnalysis} ms for 50 components with every feature (target 250 ms); a preview: ${r.engine.analysisChain50.msPerPreview} and ${r.engine.analysisFeatures50.msPerPreview} ms (target 20 ms).` : ''} Over ${r.engine.attackDesigns.designs} attack designs of the fuzzer (${r.engine.attackDesigns.accepted} accepted): validation at most ${r.engine.attackDesigns.worstValidationMs} ms, a run at most ${r.engine.attackDesigns.worstRunMs} ms (median ${r.engine.attackDesigns.medianRunMs} ms).`,
    ''
  ].join('\n')
}

const README_START = '<!-- bench:targets (npm run docs:bench writes this table) -->\n'
const README_END = '<!-- /bench:targets -->'

/** One line for the README: an authenticated request's CPU by part of the stack, by the profile. */
function whereTheTimeGoes(r: Report): string[] {
  const auth = r.profile?.authenticated as { totalUsPerRequest: number; parts: Record<string, number> } | undefined
  if (!auth) return ['The method, every figure and the profile: docs/benchmarks.md.']
  const top = Object.entries(auth.parts)
    .sort((a, b) => b[1] - a[1])
    .map(([part, us]) => `${part.replace(/ \(.*\)$/, '')} ${us}`)
  return [
    `Where an authenticated request's ${auth.totalUsPerRequest} µs go (\`node --cpu-prof\`, µs): ${top.join(' · ')}; the method and every figure: docs/benchmarks.md.`
  ]
}

/** The README with its targets table replaced by the saved run's. */
export function readmeWithTargets(readme: string, r: Report): string {
  const from = readme.indexOf(README_START)
  const to = readme.indexOf(README_END)
  if (from < 0 || to < from) throw new Error('README.md: the bench:targets markers are gone')
  const table = [
    `Measured ${r.startedAt.slice(0, 10)} on ${machine(r)}, out of process (each server in its own process, autocannon in`,
    'another, CPU per request from /proc, ratios within one run; the earlier in-process figures flattered every ratio).',
    ...whereTheTimeGoes(r),
    '',
    ...comparisonTable(r)
  ].join('\n')
  return `${readme.slice(0, from + README_START.length)}${table}\n${readme.slice(to)}`
}

/** docs/benchmarks.md and the README's table as the saved run has them; written when `write`. */
export async function renderBenchmarkDoc(write: boolean): Promise<{ doc: string; readme: string }> {
  const report = JSON.parse(await readFile(new URL('./results/latest.json', import.meta.url), 'utf8'))
  const doc = benchmarksDoc(report)
  const readmeUrl = new URL('../README.md', import.meta.url)
  const readme = readmeWithTargets(await readFile(readmeUrl, 'utf8'), report)
  if (write) {
    await writeFile(new URL('../docs/benchmarks.md', import.meta.url), doc)
    await writeFile(readmeUrl, readme)
  }
  return { doc, readme }
}

if (import.meta.main) await renderBenchmarkDoc(true)
