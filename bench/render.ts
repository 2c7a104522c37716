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
  /** Runs before it was recorded have none. */
  non2xxByStatus?: Record<string, number>
}
/** A saved ratio: runs before the middle half was recorded have no spread. */
type Ratio = Omit<MeasuredRatio, 'spread'> & Partial<Pick<MeasuredRatio, 'spread'>>

const ok = (met: boolean) => (met ? 'met' : '**not met**')

export interface TargetCheck {
  label: string
  measured: string
  target: string
  met: boolean
  /** For a ratio with its middle half saved: whether all of that half clears the target. */
  spreadMet?: boolean
  /** A figure reported beside the targets, with none of its own. */
  reported?: boolean
}

/** The ratios and waits against their targets (docs/benchmarks.md, the README and docs/beta-readiness.md show them). */
export function targetChecks(r: Report): TargetCheck[] {
  const o = r.overhead
  const d = r.database
  const tr = r.timeToResult
  // The median of the per-round ratios, and (in runs that saved it) their middle half.
  const atLeast = (label: string, ratio: Ratio, by: 'cpu' | 'throughput' | 'totalCpu', min: string) => {
    const spread = (ratio.spread as Record<string, [number, number]> | undefined)?.[by]
    return {
      label,
      measured: `${(ratio as Record<string, unknown>)[by]}×${spread ? ` (${spread[0]}–${spread[1]})` : ''}`,
      target: `≥ ${min}×`,
      met: ((ratio as Record<string, unknown>)[by] as number) >= Number(min),
      ...(spread ? { spreadMet: spread[0] >= Number(min) } : {})
    }
  }
  return [
    atLeast('full stack, public route, vs bare (by CPU)', o.fullPublicVsBare, 'cpu', '0.55'),
    atLeast('full stack, authenticated route, vs bare (by CPU)', o.fullAuthenticatedVsBare, 'cpu', '0.45'),
    // By CPU: autocannon's one core limits how fast either is asked (see clientBound).
    atLeast(
      "authenticated CPU per request vs the boilerplate's (by CPU)",
      o.fullAuthenticatedVsBoilerplate,
      'cpu',
      '2'
    ),
    atLeast('audited write vs unaudited (req/s)', d.auditedVsPlain, 'throughput', '0.80'),
    atLeast('enqueue vs the same without its job (req/s)', d.enqueueVsWithoutJob, 'throughput', '0.75'),
    atLeast('telemetry on vs off (req/s)', d.telemetryOnVsOff, 'throughput', '0.95'),
    ...(d.sampledTracingVsOff
      ? [atLeast('tracing at ratio 0.1 vs off, authenticated read (by CPU)', d.sampledTracingVsOff, 'cpu', '0.95')]
      : []),
    // The same ratio pinned, on the authenticated route with no statement: tracing's cost on the
    // HTTP path apart from Postgres's (an unpinned read's CPU moves with Postgres's latency).
    ...(o.sampledTracingVsOff
      ? [
          {
            ...atLeast(
              'tracing at ratio 0.1 vs off, authenticated route with no statement, pinned (by CPU)',
              o.sampledTracingVsOff,
              'cpu',
              '0.95'
            ),
            target: 'reported',
            reported: true
          }
        ]
      : []),
    // At ratio 1 the SDK's own cost per span bounds it (the profile phase measures that): reported, no target.
    {
      ...atLeast('tracing at ratio 1 vs off, authenticated read (by CPU)', d.tracingOnVsOff, 'cpu', '0'),
      target: 'reported',
      met: true,
      reported: true
    },
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
    // Row-level security (the rls phase): the policies and SET LOCAL cost under 10 % of a request's CPU.
    ...(r.rls
      ? [
          atLeast(
            'row-level security on vs off, workspace read (api + Postgres CPU)',
            r.rls.readRlsVsWithout,
            'totalCpu',
            '0.90'
          ),
          atLeast(
            'row-level security on vs off, audited write (api + Postgres CPU)',
            r.rls.writeRlsVsWithout,
            'totalCpu',
            '0.90'
          )
        ]
      : []),
    ...(r.engine?.features50 ? engineChecks(r.engine) : []),
    ...(r.classroom ? classroomChecks(r.classroom) : [])
  ]
}

/** The classroom: the computed class holds the service levels, and 1.5× it breaks them. */
function classroomChecks(c: Report): TargetCheck[] {
  const { computed, over } = c.runs
  return [
    {
      label: `classroom: ${computed.learners} learners (${computed.learners === c.computedLearners ? `${c.sustainedShare ?? 0.7} of the first limit` : `stepped down from ${c.computedLearners}`}) hold the service levels, ${over.learners} (1.5×) break them`,
      measured: `${levelsText(computed)}; 1.5×: ${levelsText(over)}`,
      target: 'autosave p95 ≤ 100 ms, preview ≤ 150 ms, result ≤ 2 s, no 5xx',
      met: computed.holds && !over.holds
    }
  ]
}

/** A class run's service levels in one line. */
const levelsText = (run: Report) =>
  `autosave ${run.levels.autosaveP95Ms ?? '–'} ms, preview ${run.levels.previewP95Ms ?? '–'} ms, result ${run.levels.timeToResultP95Ms ?? '–'} ms, ${run.levels.serverErrors} 5xx`

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

/** The targets as a table; the README's leaves out the figures reported without a target. */
function comparisonTable(r: Report, withReported = true): string[] {
  return [
    '| comparison (ratios in one run) | median (middle half of the rounds) | target | |',
    '| --- | --- | --- | --- |',
    ...(withReported ? targetChecks(r) : targetChecks(r).filter((c) => !c.reported)).map(
      (c) => `| ${c.label} | ${c.measured} | ${c.reported ? '–' : c.target} | ${c.reported ? 'reported' : ok(c.met)} |`
    )
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
    'IPv6 parse, a cached token and user state admit without a promise, telemetry rows travel as a typed',
    "array per column in one statement per 500. Every answer carries the seed's whole secure header set (Referrer-Policy",
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

/** A ratio's middle half by CPU, ` (a–b)`, or nothing for runs before it was recorded. */
const spread = (x: Ratio) => (x.spread ? ` (${x.spread.cpu[0]}–${x.spread.cpu[1]})` : '')

/** Tracing as the Kubernetes sample configures it: one trace in ten (runs before it had none). */
function sampledCost(r: Report): string {
  const sampled = r.database.sampledTracingVsOff as Ratio | undefined
  if (!sampled)
    return 'A lower ratio (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`) pays it only for the traces it keeps.'
  const unsampled = r.database.unsampledTracingVsOff as Ratio | undefined
  const targets = r.database.targets as Record<string, Row>
  const { read, readTracedSampled } = targets
  const background = (row: Row) => round1(row.cpuUsPerRequest - (row.mainCpuUsPerRequest ?? 0))
  return [
    `At the ratio the Kubernetes sample ships (\`parentbased_traceidratio\`, 0.1: every request still gets its trace id, one in ten is recorded and exported) the read keeps ${sampled.cpu}×${spread(sampled)} of its untraced CPU.`,
    'A request that is not sampled pays for its ids alone: the decision is taken on the trace id before anything else (`startRequestTrace` in src/tracing.ts), and the request gets the `x-trace-id` header and its ids in its log line, telemetry row and audit rows, but no span object, no span name or attributes, no context frame, no statement wrapper, no abort listener and, on a route without a body, no second hook.',
    unsampled
      ? `With no request sampled (ratio 0) the read keeps ${unsampled.cpu}×${spread(unsampled)}: what is left at 0.1 is the sampled tenth, whose spans go through the official SDK and its batched OTLP export and leave garbage that V8's background threads collect.`
      : '',
    tenthOfRatioOne(r.database),
    readTracedSampled?.mainCpuUsPerRequest !== undefined && read?.mainCpuUsPerRequest !== undefined
      ? `By thread at 0.1: main ${readTracedSampled.mainCpuUsPerRequest} µs a read (untraced ${read.mainCpuUsPerRequest}), background ${background(readTracedSampled)} µs (untraced ${background(read)}).`
      : ''
  ]
    .filter(Boolean)
    .join(' ')
}

/**
 * The noise a ratio carries (the same code in two sets of processes), and what ratio 1's cost, a
 * tenth of it, predicts for 0.1: ratio 1 adds enough CPU to stand well above that noise, where the
 * tenth of it that 0.1 adds does not (runs before the twin was measured have neither).
 */
function tenthOfRatioOne(d: Report['database']): string {
  const twin = d.twinVsRead as Ratio | undefined
  const one = d.tracingOnVsOff as Ratio | undefined
  if (!twin || !one) return ''
  const predicted = Math.round(1000 / (1 + 0.1 * (1 / one.cpu - 1))) / 1000
  return `The same code in a second set of processes reads ${twin.cpu}×${spread(twin)}: a ratio here is that close to its truth and no closer. Ratio 1 adds ${Math.round((1 / one.cpu - 1) * 100)} % to the read, far above that noise; a tenth of it, which is what one trace in ten should cost if the unsampled nine cost nothing, predicts ${predicted}× at 0.1 (a prediction from ratio 1, not a measurement).`
}

/**
 * How much of the box the time-to-result load asks for: a run's CPU end to end (its enqueue's api
 * and Postgres CPU, its job's worker and Postgres CPU) at the rate, over the machine's cores.
 */
function boxLoad(r: Report): string {
  const j = r.jobs
  if (j.enqueueApiCpuUsPerRequest === null || j.enqueueDbCpuUsPerRequest === null) return ''
  const perRun = j.enqueueApiCpuUsPerRequest + j.enqueueDbCpuUsPerRequest + j.workerCpuUsPerJob + j.dbCpuUsPerJob
  const rate = r.timeToResult.underLoad.enqueueRate
  const cores = r.machine?.cores ?? 2
  const load = (rate * perRun) / 1e6 / cores
  return ` Half the enqueue route's peak is not half of what the box can finish: a run costs ${round1(perRun / 1000)} ms of CPU end to end (its enqueue's api and Postgres CPU, its job's worker and Postgres CPU: next section), so ${rate} runs a second ask for ${Math.round(load * 100)} % of the machine's ${cores} cores${load >= 0.9 ? ': a queue that close to saturation (or past it) has a tail that grows with the length of the sample, and the p99 measures that queue' : ''}.`
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

/** The classroom phase: the timetable, each action's price, the ceilings, the runs, the self-model and the scale-out. */
export function classroomSection(r: Report): string[] {
  const c = r.classroom
  if (!c) return ['## A classroom', '', 'This run had no classroom phase (`npm run bench -- --only classroom`).', '']
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x}`)
  const kinds = Object.keys(c.actions)
  const run = (label: string, f: Report) =>
    `| ${label} | ${f.learners} | ${f.requestsPerSec} | ${ms(f.levels.autosaveP95Ms)} | ${ms(f.levels.previewP95Ms)} | ${ms(f.levels.timeToResultP95Ms)} | ${f.levels.serverErrors} / ${f.statuses.limited} | ${f.cpuMsPerLearnerMinute.api} / ${f.cpuMsPerLearnerMinute.worker} / ${f.cpuMsPerLearnerMinute.postgres} (${f.cpuMsPerLearnerMinute.generator}) | ${f.busyCores.box} of ${f.busyCores.of} | ${f.holds ? 'hold' : '**break**'} |`
  const m = c.model.one
  const two = c.model.two
  const measuredBracket = c.runs.computed.holds && !c.runs.over.holds
  const disagreement = Math.abs(m.sustainedLearners - c.computedLearners) / Math.max(1, c.computedLearners)
  return [
    '## A classroom',
    '',
    ...(c.note ? [`*${c.measuredAt ? `Run of ${c.measuredAt}. ` : ''}${c.note}*`, ''] : []),
    `Virtual learners, each a closed loop on a keep-alive connection from a loopback address of its own (127.0.0.2, 127.0.0.3, …; \`bench/lib/classroom-child.ts\`, a process of its own${c.generatorPinned ? ', pinned to the last core, the servers and Postgres to the others' : ': on this machine it shares the cores with the servers, and its CPU is shown beside theirs'}), so the api's per-address and per-user limits see a class. ${c.exercises ? 'Each opens an exercise (`POST /exercises/:slug/attempts`).' : 'This run predates the exercises routes: each learner opens a workspace of its own instead.'} The timetable (\`bench/lib/classroom.ts\`):`,
    '',
    '| action | requests | when | per learner-minute | CPU ms an action: api main / api other threads / worker / Postgres |',
    '| --- | --- | --- | --- | --- |',
    ...kinds.map((k) => {
      const cost = c.costs[k]
      return `| ${k} | ${c.actions[k].requests} | ${c.actions[k].when} | ${c.ratesPerLearnerMinute[k]} | ${cost ? `${cost.apiMainMs} / ${cost.apiOtherMs} / ${cost.workerMs} / ${cost.postgresMs}` : '–'} |`
    }),
    '',
    'Each action was priced alone, after an unmeasured pass of each (a fresh api compiles as it serves): 48 learners at once each do a fixed number of it, back to back, on an api with its limits',
    "lifted; CPU from /proc from the moment all are ready until the last is done, over the actions done (a job's worker CPU",
    "is its action's, and the load generator's own is priced too).",
    `What each part of the deployment could carry: the cores it may use, less what it spends with no learner at all${c.backgroundCores ? ` (measured idle: api ${c.backgroundCores.apiAll}, worker ${c.backgroundCores.worker}, Postgres ${c.backgroundCores.postgres} cores)` : ''}, over what a learner-minute of the timetable costs it:`,
    ...ceilingTable(c.ceilings, c.pricedFirst ?? c.saturatesFirst),
    ...(c.calibration
      ? [
          `Priced alone, actions cost more than they do in a class: each price window is short and bursty (48 learners at once), and its fixed costs (the window's own idle work, a thread woken for a few previews) are shared by few actions. So the prices only size a first class: **${c.calibration.learners} learners**, the coach's own headroom rule (utilisation ≤ ${c.headroom}, as the grade asks of a learner's design) applied to the first priced ceiling. That class ran closed-loop for ${c.calibration.windowSeconds} s with the api's production limits (rate limits per address, quotas per user); what a learner-minute cost each part there, above what it spends idle, gives the limits at steady load:`,
          '',
          ...ceilingTable(c.steadyCeilings, c.saturatesFirst),
          `**${c.saturatesFirst} saturates first, at ${c.steadyCeilings[c.saturatesFirst].learners} learners.** The class sustained is ${c.sustainedShare} of that, **${c.computedLearners} learners**: confirmed by a closed-loop run at that size and one at 1.5× it (past the limit, so it must break), after the class signed in (${c.classSignIn.learners} more sign-ins, ${c.classSignIn.seconds} s, 32 at a time: p95 ${ms(c.classSignIn.p95)} ms)${c.runs.missed ? `. The computed class missed a service level, so a class a fifth smaller ran, twice at most: the class sustained measured is **${c.runs.computed.learners} learners**` : ''}:`
        ]
      : [
          `**${c.saturatesFirst} saturates first.** At the coach's own headroom rule (utilisation ≤ ${c.headroom}) that is **${c.computedLearners} learners**; confirmed by a closed-loop run at that size and one at 1.5× it, after the class signed in (${c.classSignIn.learners} sign-ins, ${c.classSignIn.seconds} s, 32 at a time: p95 ${ms(c.classSignIn.p95)} ms):`
        ]),
    '',
    '| run | learners | req/s | autosave p95 ms | preview p95 ms | time to result p95 ms | 5xx / 429 | CPU ms a learner-minute: api / worker / Postgres (generator) | busy cores | service levels |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...(c.calibration ? [run('steady costs (0.7 of the priced ceiling)', c.calibration)] : []),
    ...((c.runs.missed ?? []) as Report[]).map((m) => run('missed a level, 1 api + 1 worker', m)),
    run('class sustained, 1 api + 1 worker', c.runs.computed),
    run('1.5×, 1 api + 1 worker', c.runs.over),
    run('1.5×, 2 api + 2 workers', c.scaleOut),
    '',
    `Service levels: autosave p95 ≤ 100 ms, preview p95 ≤ 150 ms, time to result (from the POST to the completed run as the web app sees it: polled at 150 ms, ×1.5 up to 1 s, so a run ready in 200 ms is seen at 375 ms) p95 ≤ 2 s, no 5xx. ${measuredBracket ? `Measured: the class of ${c.runs.computed.learners} holds them and ${c.runs.over.learners} does not.` : `This run did not bracket the limit as predicted (the computed class ${c.runs.computed.holds ? 'held' : 'did not hold'}, and 1.5× ${c.runs.over.holds ? 'held too' : 'broke'})${r.smoke ? ': a smoke run, too short and too small to measure anything' : ''}.`}`,
    '',
    '### The project models itself',
    '',
    `The same deployment as a design in the project's own model (\`bench/lib/self-model.ts\`): learners → the api's event loop (1 server a process) → Postgres (${c.cores} servers) and, for one action in ${Math.round(1 / Math.max(1e-9, (c.ratesPerLearnerMinute.preview ?? 0) / Object.values(c.ratesPerLearnerMinute as Record<string, number>).reduce((a, b) => a + b, 0)))}, the preview thread; jobs through a queue to the worker's engine threads. Each station's mean service time is the CPU its actions were priced at, weighted by the timetable (variability of the mix as the CV); the run at each class size is \`simulate\` of \`src/domain/engine.ts\`, and the class sustained is the largest whose predicted p95s (autosave: api + Postgres; preview: api + preview thread; result: api + worker + Postgres) hold the service levels with no station saturated.`,
    '',
    '| | learners sustained | ceiling (utilisation 1) | bottleneck |',
    '| --- | --- | --- | --- |',
    `| computed from the prices (0.7 of the first ceiling, all parts sharing ${c.cores} cores) | ${c.calibration?.learners ?? c.computedLearners} | ${(c.ceilings[c.pricedFirst ?? c.saturatesFirst] as Report).learners} | ${c.pricedFirst ?? c.saturatesFirst} |`,
    ...(c.steadyCeilings
      ? [
          `| computed from steady costs (${c.sustainedShare} of the first limit) | ${c.computedLearners} | ${c.steadyCeilings[c.saturatesFirst].learners} | ${c.saturatesFirst} |`
        ]
      : []),
    `| self-model, 1 api + 1 worker | ${m.sustainedLearners} | ${m.ceilingLearners} | ${m.bottleneck} |`,
    `| self-model, 2 api + 2 workers | ${two.sustainedLearners} | ${two.ceilingLearners} | ${two.bottleneck} |`,
    `| measured (closed loop) | ${measuredBracket ? `≥ ${c.runs.computed.learners}, < ${c.runs.over.learners}` : 'not bracketed'} | | the busiest process at 1.5×: ${busiest(c.runs.over)} |`,
    '',
    `At its sustained class the model predicts autosave p95 ${m.atSustained.autosaveP95Ms} ms, preview ${m.atSustained.previewP95Ms} ms, result ${m.atSustained.timeToResultP95Ms} ms; station utilisations ${Object.entries(
      m.atSustained.stations as Record<string, Report>
    )
      .map(([id, s]) => `${id} ${s.utilization}`)
      .join(', ')}.`,
    disagreement > 0.2
      ? `The model and the computed class disagree by ${Math.round(disagreement * 100)} %. Why: the model gives every station cores of its own (the api's event loop one, the preview thread one, Postgres ${c.cores}, the worker ${c.cores}: more than the box has), so it does not see them compete for the same ${c.cores} cores, which is what the box's line above counts; and its service times are CPU alone, where a real request also waits on the network stack, the scheduler and the generator sharing the machine, and a result is seen only at the next poll. Its p95 of a station also assumes exponential service of each kind, which for the preview (bounded, nearly constant work) is pessimistic. A design exercise comes of it: stations that share a machine are not independent servers.`
      : 'The model and the computed class agree within 20 %.',
    '',
    '### Scale-out, and the next limits',
    '',
    `Two api and two worker processes against the one Postgres (as the reliability scale-out scenario runs them; learners split between the apis as a sticky load balancer would) ran the 1.5× class above. On ${c.cores} cores this measures contention, not scale: the processes share the same cores, so the box's CPU per learner-minute is what decides, and a second process adds its own fixed cost. The self-model of 2 + 2 (each process on cores of its own, as on a second machine) projects ${two.sustainedLearners} learners against ${m.sustainedLearners} for 1 + 1 (${m.sustainedLearners > 0 ? `${Math.round((two.sustainedLearners / m.sustainedLearners) * 100) / 100}×` : '–'}), its bottleneck ${two.bottleneck}.`,
    '',
    'The next limits, in the order a growing deployment meets them, and what the Kubernetes samples (`ops/k8s`) do about each:',
    '',
    '- **The api and worker CPU**: the HPA scales the api and the worker on CPU utilisation; the prices above say how many learners a pod carries.',
    "- **Postgres connections**: each process holds its pool (`DATABASE_POOL_MAX`, 10) beside pg-boss's and a listening connection; at a few dozen pods the sum passes `max_connections`. PgBouncer in transaction mode multiplexes them, and breaks what needs a session: `LISTEN` (the worker's wake-up, `src/queue/wake.ts`, and pg-boss's: point their listening connection straight at Postgres, or lose the wake-ups and start each job a polling interval later, as a lost notification already does); session advisory locks (the app takes transaction-scoped ones only, `pg_advisory_xact_lock` for migrations, roles and quotas, which work through it; migrations run against Postgres directly anyway); session-level settings (none today: anything per user is to be `SET LOCAL`, per transaction, which survives); prepared statements (postgres.js prepares by default: `prepare: false` through a pooler older than PgBouncer 1.21, or `max_prepared_statements` on a newer one).",
    "- **Postgres CPU**: each action's share is in the price table; past one primary, a read replica takes the telemetry summary and the admin reports (they tolerate seconds of lag), never a learner's own reads (read-your-writes after an autosave).",
    '- **The pg-boss fetch rate**: each worker fetches in batches on an interval and on a wake-up; many workers polling an idle queue cost Postgres CPU, so workers scale on queue depth as well as CPU.',
    "- **The audit chain's lock**: audited writes insert unsealed rows and never wait; one sealer at a time links them under its advisory lock, so the chain's limit is the rows a second one sealer links, not the writes.",
    ''
  ]
}

/** Each part's CPU a learner-minute, the cores it may use, and the learners that fill them. */
function ceilingTable(ceilings: Record<string, Report>, first: string): string[] {
  return [
    '',
    '| part | CPU ms a learner-minute | cores left to the class | learners at utilisation 1 |',
    '| --- | --- | --- | --- |',
    ...Object.entries(ceilings).map(
      ([part, x]) =>
        `| ${part}${part === first ? ' (**first**)' : ''} | ${x.cpuMsPerLearnerMinute} | ${x.cores} | ${x.learners} |`
    ),
    ''
  ]
}

/** The process that was busiest against what it may use in a run. */
function busiest(run: Report): string {
  const b = run.busyCores
  const loads: [string, number][] = [
    ['the api event loop', b.apiMain],
    ['the box', b.box / b.of],
    ['Postgres', b.postgres / b.of],
    ['the worker', b.worker / b.of]
  ]
  const [name, load] = loads.sort((x, y) => y[1] - x[1])[0]
  return `${name} (${Math.round(load * 100)} %)`
}

/** A target's non-2xx answers, by status where the run recorded them (`12 (409: 12)`). */
const answers = (f: Row) => {
  const by = Object.entries(f.non2xxByStatus ?? {})
  return by.length ? `${f.non2xx} (${by.map(([status, n]) => `${status}: ${n}`).join(', ')})` : String(f.non2xx)
}

/** docs/benchmarks.md: every figure of the last run. */
export function benchmarksDoc(r: Report): string {
  const rows = (targets: Record<string, Row>) =>
    Object.entries(targets).map(
      ([k, f]) =>
        `| ${k} | ${f.requestsPerSec} | ${f.cpuUsPerRequest} | ${f.dbCpuUsPerRequest ?? '–'} | ${answers(f)} |`
    )
  const ratioRows = (section: Record<string, unknown>) =>
    Object.entries(section)
      .filter(([, v]) => v && typeof v === 'object' && 'cpu' in (v as object))
      .map(([k, v]) => {
        const ratio = v as Ratio
        const half = (by: 'cpu' | 'throughput') =>
          `${ratio[by]}×${ratio.spread ? ` (${ratio.spread[by][0]}–${ratio.spread[by][1]})` : ''}`
        return `| ${k} | ${half('cpu')} | ${half('throughput')} |`
      })
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run docs:bench\` from \`bench/results/latest.json\` (run of ${r.startedAt}, ${r.elapsedSeconds} s).`,
    'Method: each server runs in its own process and autocannon in another (the trivial routes with',
    'the server pinned to core 0 and autocannon to core 1; the database routes unpinned, as Postgres',
    `shares the cores); ${r.method.warmupSeconds ? `a ${r.method.warmupSeconds}-second warm-up pass of each target, then ` : ''}${r.method.rounds} rounds of one-second passes there and back, medians; CPU from /proc.${r.method.processesPerVariant > 1 ? ` Each variant is served by ${r.method.processesPerVariant} server processes, one per round in turn (the warm-up shared among them), so no one process's draw decides a ratio. A ratio is taken per round, each target's pass there and back pooled (they sit symmetrically about the round's middle, so a drift of the machine over the round cancels), and given with the middle half of the rounds' ratios.` : ''}`,
    '`npm run bench -- --compare` flags CPU µs per request or ratios more than 20 % worse than the saved run,',
    'a database server whose CPU a request grew more than 20 % from its first round to its last, and a ratio',
    'whose middle half of rounds does not clear its target. To compare a few variants while working on one,',
    '`npm run bench -- --only database --targets read,readTracedSampled,readTracedUnsampled --rounds 15`',
    'measures only those (starting only their servers) and saves `bench/results/targets.json`, never `latest.json`;',
    'each database target also reports its CPU by thread group (main, V8’s workers, libuv’s pool).',
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
    '| ratio (b vs a, per round, median; middle half) | by CPU µs | by req/s |',
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
    ...rlsSection(r, rows),
    '## Time to result',
    '',
    `From \`POST /workspaces/:id/simulations\` to the run read as completed (polled every 5 ms): idle p50 ${r.timeToResult.idle.p50} ms, p99 ${r.timeToResult.idle.p99} ms over ${r.timeToResult.idle.runs} runs; while ${r.timeToResult.underLoad.enqueueRate} enqueues/s arrive, p50 ${r.timeToResult.underLoad.p50} ms, p99 ${r.timeToResult.underLoad.p99} ms over ${r.timeToResult.underLoad.runs} runs.${boxLoad(r)}`,
    '',
    '## One simulation job',
    '',
    `${r.jobs.jobs} jobs drained in ${r.jobs.drainSeconds} s: the worker spent ${r.jobs.workerCpuUsPerJob} µs and Postgres ${r.jobs.dbCpuUsPerJob} µs of CPU per job, against ${r.jobs.enqueueApiCpuUsPerRequest} µs (api) and ${r.jobs.enqueueDbCpuUsPerRequest} µs (Postgres) per enqueue request.`,
    '',
    '## Engine',
    '',
    `Timed in a process of its own pinned to one core, as a worker's engine thread runs, after a second of warm-up runs (a worker's steady state). Chains of 5, 50 and 500 components: ${r.engine.components5.msPerSimulation}, ${r.engine.components50.msPerSimulation} and ${r.engine.components500.msPerSimulation} ms per run (20 000 Monte-Carlo paths).${r.engine.features50 ? ` Designs using every feature (splits, random balancing, variability, finite queues, delays, network time, timeouts with retries, queues and workers; \`featureDesign\` in bench/lib/context.ts) of 50 and 500 components: ${r.engine.features50.msPerSimulation} and ${r.engine.features500.msPerSimulation} ms per run, against targets of 10 and 100 ms.` : ''}${r.engine.analysisChain50 ? ` A run with its analysis (sweep, failure scenarios, availability, cost, sizes): ${r.engine.analysisChain50.msPerRunWithAnalysis} ms for the 50-component chain and ${r.engine.analysisFeatures50.msPerRunWithAnalysis} ms for 50 components with every feature (target 250 ms); a preview: ${r.engine.analysisChain50.msPerPreview} and ${r.engine.analysisFeatures50.msPerPreview} ms (target 20 ms).` : ''} Over ${r.engine.attackDesigns.designs} attack designs of the fuzzer (${r.engine.attackDesigns.accepted} accepted): validation at most ${r.engine.attackDesigns.worstValidationMs} ms, a run at most ${r.engine.attackDesigns.worstRunMs} ms (median ${r.engine.attackDesigns.medianRunMs} ms).`,
    '',
    ...classroomSection(r)
  ].join('\n')
}

/** The rls phase's table, when the run has one: the same routes with and without row-level security. */
function rlsSection(r: Report, rows: (targets: Record<string, Row>) => string[]): string[] {
  if (!r.rls) return []
  return [
    '## Row-level security',
    '',
    'The workspace read and the audited write on the app’s role (policies on, `SET LOCAL` in a transaction),',
    'against the same statements as before the policies were the authority (no `SET LOCAL`, the read outside',
    'a transaction) on a server logging in as a `BYPASSRLS` role.',
    '',
    '| target | req/s | server CPU µs/request | Postgres CPU µs/request | non-2xx |',
    '| --- | --- | --- | --- | --- |',
    ...rows(r.rls.targets),
    '',
    '| ratio (without vs with) | by api + Postgres CPU | by api CPU | by req/s |',
    '| --- | --- | --- | --- |',
    ...(['readRlsVsWithout', 'writeRlsVsWithout'] as const).map((k) => {
      const x = r.rls[k]
      const half = (by: string) => `${x[by]}×${x.spread?.[by] ? ` (${x.spread[by][0]}–${x.spread[by][1]})` : ''}`
      return `| ${k} | ${half('totalCpu')} | ${half('cpu')} | ${half('throughput')} |`
    }),
    ''
  ]
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
    ...comparisonTable(r, false)
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
