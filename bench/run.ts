// `npm run bench [-- --smoke] [-- --compare] [-- --only phase,…] [-- --out DIR]`.
// Every server under test runs in a process of its own and the load generator (autocannon) in
// another, never in the process it measures; each figure is a median over rounds of A B … B A
// passes, with the server's CPU µs per request read from /proc. CPU-bound phases pin the server to
// core 0 and the load generator to core 1; phases that reach Postgres leave them unpinned.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { attackDesigns } from '../reliability/lib/pathological.ts'
import { freePort, startWorker, stopProcess } from '../reliability/lib/stack.ts'
import { waitFor } from '../reliability/lib/wait.ts'
import { createSql } from '../src/db/client.ts'
import { startEmbeddedPostgres } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { simulate } from '../src/domain/engine.ts'
import type { Design } from '../src/domain/model.ts'
import { validateDesign } from '../src/domain/validate.ts'
import { processCpuUs, treeCpuUs } from './lib/cpu.ts'
import { LoadGenerator } from './lib/load.ts'
import { compareTargets, type Figures, median, ratios, round, type Target } from './lib/measure.ts'
import { type Server, startServer } from './lib/servers.ts'

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: new URL('./results/', import.meta.url).pathname }
  }
})
const SMOKE = values.smoke as boolean
const PHASES = ['overhead', 'database', 'timeToResult', 'jobs', 'engine'] as const
const only = values.only ? new Set(values.only.split(',').map((p) => p.trim())) : null
for (const phase of only ?? []) {
  if (!PHASES.includes(phase as never)) throw new Error(`--only: unknown phase ${phase} (phases: ${PHASES.join(', ')})`)
}
const wants = (phase: (typeof PHASES)[number]) => only === null || only.has(phase)
const ROUNDS = SMOKE ? 1 : 7
const SECONDS = 1
const WARMUP_SECONDS = SMOKE ? 1 : 2
const CONNECTIONS = 64
const DB_CONNECTIONS = 20
const log = (msg: string) => process.stdout.write(`${msg}\n`)
const PASSWORD = 'bench password long enough'
const JWT_SECRET = 'bench-secret-that-is-long-enough-1234567'

const DESIGN: Design = {
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'api', type: 'service', instances: 3, concurrency: 8, serviceTimeMs: 20 },
    { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  ],
  links: [
    { from: 'users', to: 'api', share: 1 },
    { from: 'api', to: 'db', share: 1 }
  ]
}

function chainDesign(n: number): Design {
  const components: Design['components'] = [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
  ]
  const links: Design['links'] = []
  for (let i = 0; i < n - 1; i++) {
    const cache = i % 7 === 3
    components.push({
      id: `c${i}`,
      type: cache ? 'cache' : 'service',
      instances: 2,
      concurrency: 16,
      serviceTimeMs: 4,
      ...(cache ? { hitRatio: 0.5 } : {})
    })
    links.push({ from: i === 0 ? 'users' : `c${i - 1}`, to: `c${i}`, share: 1 })
  }
  return { components, links }
}

const summary = (f: Figures) => ({ ...f, passes: undefined })
const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

async function main() {
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'sdc-bench-'))
  const dataDir = join(dir, 'data')
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bench' })
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const dbCpu = () => treeCpuUs(postmaster)
  const sql = createSql(pg.url, { max: 5, applicationName: 'sdc-bench' })
  await migrate(sql)
  const report: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    smoke: SMOKE,
    method: { rounds: ROUNDS, secondsPerPass: SECONDS, connections: CONNECTIONS, dbConnections: DB_CONNECTIONS }
  }
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    JWT_SECRET,
    DATABASE_URL: pg.url,
    CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
    RATE_LIMIT_MAX_REQUESTS: '1000000000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '1000000000',
    QUOTA_ACTIVE_RUNS: '10000000',
    QUOTA_RUNS_PER_DAY: '10000000',
    QUOTA_STORED_RUNS: '10000000',
    QUOTA_WORKSPACES: '10000000',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_MS: '0'
  }
  const servers: Server[] = []
  const start = async (kind: string, extra: Record<string, string>, cpu: number | null) => {
    const server = await startServer(kind, { ...env, ...extra }, cpu)
    servers.push(server)
    return server
  }
  const settle = async () => {
    await sql`vacuum analyze`
    await sql`checkpoint`
  }
  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body)
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  // A user, a token and workspaces, made through an unpinned full server.
  const setup = await start('full', {}, null)
  await post(`${setup.address}/auth/register`, { email: 'bench@example.com', password: PASSWORD, displayName: 'Bench' })
  const login = await post(`${setup.address}/auth/login`, { email: 'bench@example.com', password: PASSWORD })
  const token = login.body.accessToken as string
  const userId = (login.body.user as { id: string }).id
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const workspaces: string[] = []
  for (let i = 0; i < DB_CONNECTIONS; i++)
    workspaces.push(
      (await post(`${setup.address}/workspaces`, { name: `bench ${i}`, design: DESIGN }, auth)).body.id as string
    )
  // Enqueues come from many learners, one workspace each: one user's enqueues wait on each other
  // (the quota check serialises them), which is not the load a server meets.
  const learners: { headers: Record<string, string>; workspace: string }[] = []
  for (let i = 0; i < DB_CONNECTIONS; i++) {
    const email = `learner-${i}@example.com`
    await post(`${setup.address}/auth/register`, { email, password: PASSWORD, displayName: 'Learner' })
    const session = await post(`${setup.address}/auth/login`, { email, password: PASSWORD })
    const headers = { authorization: `Bearer ${session.body.accessToken}`, 'content-type': 'application/json' }
    const workspace = (await post(`${setup.address}/workspaces`, { name: 'mine', design: DESIGN }, headers)).body.id
    learners.push({ headers, workspace: workspace as string })
  }
  await setup.stop()

  try {
    if (wants('overhead')) {
      log('overhead: trivial routes, server on core 0, autocannon on core 1')
      const load = LoadGenerator.start(1)
      const [bare, boilerplate, full] = [
        await start('bare', {}, 0),
        await start('boilerplate', {}, 0),
        await start('full', {}, 0)
      ]
      const peerToken = (await post(`${boilerplate.address}/bench/token`, { sub: userId })).body.token as string
      const get = (server: Server, path: string, bearer?: string) => ({
        url: `${server.address}${path}`,
        connections: CONNECTIONS,
        headers: bearer ? { authorization: `Bearer ${bearer}` } : ({} as Record<string, string>)
      })
      const targets: Target[] = [
        { name: 'bare', pid: bare.pid, spec: get(bare, '/bench/ping') },
        { name: 'boilerplatePublic', pid: boilerplate.pid, spec: get(boilerplate, '/bench/ping') },
        { name: 'boilerplateAuthenticated', pid: boilerplate.pid, spec: get(boilerplate, '/bench/me', peerToken) },
        { name: 'fullPublic', pid: full.pid, spec: get(full, '/bench/ping') },
        { name: 'fullAuthenticated', pid: full.pid, spec: get(full, '/bench/me', token) }
      ]
      const figures = await compareTargets(load, targets, {
        rounds: ROUNDS,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS
      })
      load.stop()
      for (const s of [bare, boilerplate, full]) await s.stop()
      report.overhead = {
        targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
        fullPublicVsBare: ratios(figures, 'bare', 'fullPublic'),
        fullAuthenticatedVsBare: ratios(figures, 'bare', 'fullAuthenticated'),
        boilerplatePublicVsBare: ratios(figures, 'bare', 'boilerplatePublic'),
        fullAuthenticatedVsBoilerplate: ratios(figures, 'boilerplateAuthenticated', 'fullAuthenticated')
      }
      for (const [k, f] of Object.entries(figures))
        log(`  ${k}: ${f.requestsPerSec} req/s, ${f.cpuUsPerRequest} µs CPU/request`)
    }

    let enqueueRps = 0
    if (wants('database')) {
      log('database routes: unpinned (Postgres shares the cores)')
      const load = LoadGenerator.start(null)
      const full = await start('full', {}, null)
      const off = await start('full', { REQUEST_TELEMETRY_SAMPLE_RATE: '0' }, null)
      const spec = (server: Server, path: string, extra: Partial<Target['spec']> = {}) => ({
        url: `${server.address}${path}`,
        connections: DB_CONNECTIONS,
        headers: auth,
        ...extra
      })
      const writes = (server: Server, prefix: string) =>
        spec(server, '/', {
          method: 'POST' as const,
          body: '{}',
          scenario: 'rotate' as const,
          paths: workspaces.map((w) => `${prefix}/${w}`)
        })
      const enqueues = (server: Server, path: (workspace: string) => string) =>
        spec(server, '/', {
          method: 'POST' as const,
          body: '{}',
          scenario: 'rotate' as const,
          // autocannon lets top-level headers win over a request's: each learner's token goes per request.
          headers: {},
          paths: learners.map((l) => path(l.workspace)),
          headersList: learners.map((l) => l.headers)
        })
      await settle()
      const targets: Target[] = [
        { name: 'read', pid: full.pid, spec: spec(full, `/workspaces/${workspaces[2]}`) },
        { name: 'readTelemetryOff', pid: off.pid, spec: spec(off, `/workspaces/${workspaces[2]}`) },
        {
          name: 'autosave',
          pid: full.pid,
          spec: spec(full, '/', { scenario: 'autosave', paths: workspaces.map((w) => `/workspaces/${w}`) })
        },
        { name: 'enqueue', pid: full.pid, spec: enqueues(full, (w) => `/workspaces/${w}/simulations`) },
        {
          name: 'enqueueWithoutJob',
          pid: full.pid,
          spec: enqueues(full, (w) => `/bench/simulations-without-job/${w}`)
        },
        { name: 'auditedWrite', pid: full.pid, spec: writes(full, '/bench/write-audited') },
        { name: 'plainWrite', pid: full.pid, spec: writes(full, '/bench/write-plain') }
      ]
      const figures = await compareTargets(load, targets, {
        rounds: ROUNDS,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        dbCpu
      })
      load.stop()
      await off.stop()
      await full.stop()
      enqueueRps = figures.enqueue.requestsPerSec
      report.database = {
        targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
        auditedVsPlain: ratios(figures, 'plainWrite', 'auditedWrite'),
        enqueueVsWithoutJob: ratios(figures, 'enqueueWithoutJob', 'enqueue'),
        telemetryOnVsOff: ratios(figures, 'readTelemetryOff', 'read')
      }
      for (const [k, f] of Object.entries(figures))
        log(
          `  ${k}: ${f.requestsPerSec} req/s, api ${f.cpuUsPerRequest} µs + Postgres ${f.dbCpuUsPerRequest} µs CPU/request, non-2xx ${f.non2xx}`
        )
      // Leave the simulation jobs those passes queued to the jobs phase, not to the next worker.
      await sql`delete from pgboss.job where name = 'simulation'`
      await sql`delete from app.simulation_runs`
    }

    if (wants('timeToResult')) {
      log('time to result: POST a simulation, then poll its run every 5 ms until completed')
      const api = await start('full', {}, null)
      const worker = await startWorker({ ...env, LOG_LEVEL: 'info', WORKER_SUPERVISE_INTERVAL_SECONDS: '15' }, [
        '--queues',
        'simulation'
      ])
      const once = async () => {
        const t0 = performance.now()
        const res = await post(`${api.address}/workspaces/${workspaces[3]}/simulations`, {}, auth)
        const id = res.body.id as string
        for (;;) {
          const run = (await (await fetch(`${api.address}/simulations/${id}`, { headers: auth })).json()) as {
            status: string
          }
          if (run.status === 'completed' || run.status === 'failed') return performance.now() - t0
          await new Promise((r) => setTimeout(r, 5))
        }
      }
      const count = SMOKE ? 5 : 100
      for (let i = 0; i < 3; i++) await once()
      const idle: number[] = []
      for (let i = 0; i < count; i++) idle.push(await once())
      // Under load: half the enqueue route's peak rate (from the database phase) for the whole sample.
      const rate = Math.max(10, Math.round((enqueueRps || 400) / 2))
      const load = LoadGenerator.start(null)
      const background = load.run({
        url: `${api.address}/workspaces/${workspaces[4]}/simulations`,
        connections: 10,
        method: 'POST',
        headers: auth,
        body: '{}',
        overallRate: rate,
        seconds: SMOKE ? 2 : 10
      })
      await new Promise((r) => setTimeout(r, 500))
      const loaded: number[] = []
      const until = Date.now() + (SMOKE ? 1000 : 8500)
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
      report.timeToResult = {
        idle: figures(idle),
        underLoad: { ...figures(loaded), enqueueRate: rate, backgroundRequestsPerSec: backgroundRun.requestsPerSec }
      }
      log(`  idle: ${JSON.stringify(figures(idle))}; under ${rate} enqueues/s: ${JSON.stringify(figures(loaded))}`)
      await sql`delete from pgboss.job where name = 'simulation'`
      await sql`delete from app.simulation_runs`
    }

    if (wants('jobs')) {
      log('jobs: the CPU one simulation job costs the worker and Postgres')
      const jobs = SMOKE ? 50 : 2000
      const worker = await startWorker({ ...env, LOG_LEVEL: 'info', WORKER_SUPERVISE_INTERVAL_SECONDS: '15' }, [
        '--queues',
        'simulation'
      ])
      // Runs and their jobs, due two seconds from now: the CPU snapshot is taken after they are written.
      await sql`
        with runs as (
          insert into app.simulation_runs (workspace_id, owner_id, design, traffic, seed)
          select w.id, w.owner_id, w.design, '{"peakRps": 100, "readRatio": 0.8, "payloadKb": 4, "latencySloMs": 300}'::jsonb, g
          from app.workspaces w, generate_series(1, ${jobs}) g
          where w.id = ${workspaces[5]}
          returning id
        )
        insert into pgboss.job (id, name, data, start_after, expire_seconds, retry_limit, dead_letter, heartbeat_seconds)
        select gen_random_uuid(), 'simulation', jsonb_build_object('runId', id), now() + interval '2 seconds', 300, 3, 'simulation_dead', 10
        from runs
      `
      const before = { worker: processCpuUs(worker.child.pid as number), db: dbCpu() }
      const t0 = Date.now()
      await waitFor(
        async () =>
          (await sql`select count(*)::int as n from app.simulation_runs where status <> 'completed'`)[0].n === 0,
        { timeoutMs: 600_000, intervalMs: 100, what: 'the simulation jobs to drain' }
      )
      const seconds = (Date.now() - t0) / 1000 - 2
      const cost = {
        workerCpuUsPerJob: round((processCpuUs(worker.child.pid as number) - before.worker) / jobs, 1),
        dbCpuUsPerJob: round((dbCpu() - before.db) / jobs, 1)
      }
      await stopProcess(worker)
      const enqueue = (report.database as { targets?: Record<string, Figures> } | undefined)?.targets?.enqueue
      report.jobs = {
        jobs,
        drainSeconds: round(seconds, 2),
        ...cost,
        enqueueApiCpuUsPerRequest: enqueue?.cpuUsPerRequest ?? null,
        enqueueDbCpuUsPerRequest: enqueue?.dbCpuUsPerRequest ?? null
      }
      log(`  ${jobs} jobs: worker ${cost.workerCpuUsPerJob} µs + Postgres ${cost.dbCpuUsPerJob} µs CPU per job`)
    }

    if (wants('engine')) {
      log('engine: designs of 5, 50 and 500 components; the worst designs an attacker can send')
      const engine: Record<string, unknown> = {}
      const traffic = { peakRps: 500, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }
      for (const n of [5, 50, 500]) {
        const design = chainDesign(n)
        const reps = SMOKE ? 1 : n === 500 ? 5 : 20
        simulate(design, traffic, { seed: reps })
        const t0 = performance.now()
        for (let i = 0; i < reps; i++) simulate(design, traffic, { seed: i })
        engine[`components${n}`] = { msPerSimulation: round((performance.now() - t0) / reps) }
      }
      // The fuzzer's attack shapes: validation time for all, engine time for the ones accepted.
      const designs = attackDesigns(fc.sample(fc.integer(), 1)[0], SMOKE ? 8 : 60)
      const validateMs: number[] = []
      const runMs: number[] = []
      for (const design of designs) {
        const t0 = performance.now()
        const problems = validateDesign(design)
        validateMs.push(performance.now() - t0)
        if (problems.length > 0) continue
        const t1 = performance.now()
        simulate(design, { ...traffic, peakRps: 1 })
        runMs.push(performance.now() - t1)
      }
      engine.attackDesigns = {
        designs: designs.length,
        accepted: runMs.length,
        worstValidationMs: round(Math.max(...validateMs)),
        worstRunMs: round(Math.max(0, ...runMs)),
        medianRunMs: round(median(runMs))
      }
      report.engine = engine
      log(`  ${JSON.stringify(engine)}`)
    }
  } finally {
    for (const server of servers) await server.stop().catch(() => {})
    await sql.end()
    await pg.stop()
    await rm(dir, { recursive: true, force: true })
  }

  report.elapsedSeconds = round((Date.now() - started) / 1000)
  const outDir = values.out as string
  await mkdir(outDir, { recursive: true })
  const latestPath = join(outDir, SMOKE ? 'smoke.json' : 'latest.json')
  if (values.compare) await compare(latestPath, report)
  await writeFile(latestPath, `${JSON.stringify(report, null, 2)}\n`)
  log(`saved ${latestPath}`)
}

/**
 * Flags CPU µs per request that grew, or a ratio that fell, more than 20 % against the last saved
 * run (requests per second move too much on a shared machine to gate on).
 */
async function compare(previousPath: string, current: Record<string, unknown>) {
  const previous = JSON.parse(await readFile(previousPath, 'utf8').catch(() => '{}'))
  const figures = (report: Record<string, unknown>, prefix = ''): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const [key, value] of Object.entries(report)) {
      if (!value || typeof value !== 'object') continue
      const v = value as Record<string, unknown>
      if (typeof v.cpuUsPerRequest === 'number') out[`${prefix}${key}.cpuUsPerRequest`] = v.cpuUsPerRequest
      if (typeof v.cpu === 'number') out[`${prefix}${key}.cpuRatio`] = v.cpu
      Object.assign(out, figures(v, `${prefix}${key}.`))
    }
    return out
  }
  const before = figures(previous)
  const after = figures(current)
  let regressions = 0
  for (const [name, value] of Object.entries(after)) {
    const old = before[name]
    if (old === undefined || old === 0) continue
    // µs per request regresses upwards, a ratio downwards.
    const change = name.endsWith('Ratio') ? (old - value) / old : (value - old) / old
    const flag = change > 0.2 ? '  REGRESSION' : ''
    if (flag) regressions++
    log(`  ${name}: ${old} → ${value}${flag}`)
  }
  log(regressions === 0 ? 'compare: no regression over 20 %' : `compare: ${regressions} regression(s) over 20 %`)
  if (regressions > 0) process.exitCode = 1
}

await main()
