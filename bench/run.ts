// `npm run bench [-- --smoke] [-- --compare] [-- --out DIR]`: load benchmarks with autocannon.
// Every comparison is a ratio of two runs made here, one after the other, on this machine.
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import { createBoss } from '../jobs/boss.ts'
import { createQueues } from '../jobs/queues.ts'
import { freePort, startWorker, stopProcess } from '../reliability/lib/stack.ts'
import { waitFor } from '../reliability/lib/wait.ts'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { createSql } from '../src/db/client.ts'
import { startEmbeddedPostgres } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { simulate } from '../src/domain/engine.ts'
import type { Design } from '../src/domain/model.ts'

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: new URL('./results/', import.meta.url).pathname }
  }
})
const SMOKE = values.smoke as boolean
const PHASES = ['overhead', 'paths', 'enqueue', 'audit', 'telemetry', 'queue', 'engine'] as const
const only = values.only ? new Set(values.only.split(',').map((p) => p.trim())) : null
for (const phase of only ?? []) {
  if (!PHASES.includes(phase as never)) throw new Error(`--only: unknown phase ${phase} (phases: ${PHASES.join(', ')})`)
}
// The queue phase drains the jobs the enqueue phases left and compares with the peak API rate.
if (only?.has('queue')) only.add('paths').add('enqueue')
const wants = (phase: (typeof PHASES)[number]) => only === null || only.has(phase)
const DURATION = SMOKE ? 1 : 8
/** A comparison: a warm-up of each side, then rounds of A B B A. */
const WARMUP = SMOKE ? 1 : 2
const ROUNDS = SMOKE ? 1 : 9
const ROUND_SECONDS = 1
const CONNECTIONS = 20
const log = (msg: string) => process.stdout.write(`${msg}\n`)

interface Run {
  requestsPerSec: number
  p50: number
  p95: number
  p99: number
  total: number
  non2xx: number
  errors: number
}

async function cannon(url: string, opts: Partial<autocannon.Options> = {}): Promise<Run> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...opts })
  const latency = result.latency as unknown as Record<string, number>
  return {
    requestsPerSec: Math.round(result.requests.average),
    p50: latency.p50,
    p95: latency.p97_5 === undefined ? latency.p99 : (latency.p90 + latency.p97_5) / 2,
    p99: latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors
  }
}

/**
 * Compares two shapes in rounds of A B B A (one second each, after a warm-up of each): each
 * round gives a ratio, and the comparison is the median round. On a shared two-core machine a
 * single long run of each side moved the ratio by ±0.1 from one run to the next; a burst of
 * load from elsewhere now spoils a round, not the result.
 */
async function compareRuns(
  a: (seconds: number) => Promise<Run>,
  b: (seconds: number) => Promise<Run>
): Promise<{ a: Run; b: Run; ratio: number; rounds: number[] }> {
  // One unmeasured pass each first, so neither side pays for the other's JIT warm-up.
  await a(WARMUP)
  await b(WARMUP)
  const as: Run[] = []
  const bs: Run[] = []
  const rounds: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const a1 = await a(ROUND_SECONDS)
    const b1 = await b(ROUND_SECONDS)
    const b2 = await b(ROUND_SECONDS)
    const a2 = await a(ROUND_SECONDS)
    as.push(a1, a2)
    bs.push(b1, b2)
    rounds.push(round((b1.requestsPerSec + b2.requestsPerSec) / (a1.requestsPerSec + a2.requestsPerSec), 3))
  }
  const merge = (runs: Run[]): Run => ({
    requestsPerSec: Math.round(median(runs.map((r) => r.requestsPerSec))),
    p50: median(runs.map((r) => r.p50)),
    p95: median(runs.map((r) => r.p95)),
    p99: Math.max(...runs.map((r) => r.p99)),
    total: runs.reduce((sum, r) => sum + r.total, 0),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0)
  })
  return { a: merge(as), b: merge(bs), ratio: round(median(rounds)), rounds }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const PASSWORD = 'bench password long enough'
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
    components.push({
      id: `c${i}`,
      type: i % 7 === 3 ? 'cache' : 'service',
      instances: 2,
      concurrency: 16,
      serviceTimeMs: 4,
      ...(i % 7 === 3 ? { hitRatio: 0.5 } : {})
    })
    links.push({ from: i === 0 ? 'users' : `c${i - 1}`, to: `c${i}`, share: 1 })
  }
  return { components, links }
}

async function main() {
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'sdc-bench-'))
  const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort(), database: 'bench' })
  const sql = createSql(pg.url, { max: 20, applicationName: 'sdc-bench' })
  await migrate(sql)
  const report: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    smoke: SMOKE,
    durationSeconds: DURATION,
    connections: CONNECTIONS
  }
  const apps: FastifyInstance[] = []
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-that-is-long-enough-1234567',
    DATABASE_URL: pg.url,
    CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
    RATE_LIMIT_MAX_REQUESTS: '100000000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '100000000',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_MS: '0'
  }
  // Each comparison starts from a quiet database: the vacuum and checkpoint that an earlier phase's
  // rows would set off run here, not inside the next phase's rounds.
  const settle = async () => {
    await sql`vacuum analyze`
    await sql`checkpoint`
  }
  const start = async (extra: Record<string, string> = {}, routes?: (app: FastifyInstance) => void) => {
    const app = await buildApp(loadConfig({ ...env, ...extra }).config, { applicationName: 'sdc-bench-api' })
    routes?.(app)
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    apps.push(app)
    return { app, address }
  }

  try {
    const full = await start({}, (app) =>
      app.get('/bench/ping', { config: { auth: 'public' } }, async () => ({ ok: true }))
    )
    if (wants('overhead')) {
      // Overhead: the whole hardened stack against bare Fastify on the same trivial route.
      log('overhead: bare Fastify vs the full stack on a trivial route')
      const bare = Fastify()
      bare.get('/ping', async () => ({ ok: true }))
      const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' })
      await settle()
      const overhead = await compareRuns(
        (duration) => cannon(`${bareUrl}/ping`, { duration }),
        (duration) => cannon(`${full.address}/bench/ping`, { duration })
      )
      await bare.close()
      report.overhead = { bare: overhead.a, full: overhead.b, ratio: overhead.ratio, rounds: overhead.rounds }
      log(`  ratio ${overhead.ratio} (target ≥ 0.55; rounds ${overhead.rounds.join(' ')})`)
    }

    // A user, an access token and workspaces to work on.
    await full.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: 'bench@example.com', password: PASSWORD, displayName: 'Bench' }
    })
    const login = (
      await full.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'bench@example.com', password: PASSWORD }
      })
    ).json()
    const auth = { authorization: `Bearer ${login.accessToken}`, 'content-type': 'application/json' }
    const workspaces: string[] = []
    for (let i = 0; i < CONNECTIONS; i++) {
      workspaces.push(
        (
          await full.app.inject({
            method: 'POST',
            url: '/workspaces',
            headers: auth,
            payload: { name: `bench ${i}`, design: DESIGN }
          })
        ).json().id
      )
    }

    let peakEnqueue = 0
    if (wants('paths')) {
      // Critical paths.
      log('critical paths: login, read a workspace, autosave PATCH, enqueue a simulation')
      const loginRun = await cannon(`${full.address}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD })
      })
      const readRun = await cannon(`${full.address}/workspaces/${workspaces[0]}`, { headers: auth })
      // Like an editor's autosave: one save in flight per workspace, each carrying the version the
      // last one returned. (autocannon clears a request's context after every response, so the
      // versions and the workspaces in flight are kept here.)
      const versions = new Map<string, number>()
      const saving = new Set<string>()
      const patchRun = await cannon(full.address, {
        requests: [
          {
            method: 'PATCH',
            headers: auth,
            setupRequest: (req, context) => {
              // As many workspaces as connections, so one is always free.
              const ws = workspaces.find((w) => !saving.has(w)) as string
              saving.add(ws)
              ;(context as { ws?: string }).ws = ws
              const version = versions.get(ws) ?? 1
              return { ...req, path: `/workspaces/${ws}`, body: JSON.stringify({ version, name: `saved ${version}` }) }
            },
            onResponse: (status, body, context) => {
              const { ws } = context as { ws: string }
              saving.delete(ws)
              if (status === 200) versions.set(ws, JSON.parse(body).version)
              else if (status === 409) versions.set(ws, JSON.parse(body).currentVersion)
            }
          }
        ]
      })
      const enqueueRun = await cannon(`${full.address}/workspaces/${workspaces[1]}/simulations`, {
        method: 'POST',
        headers: auth,
        body: '{}'
      })
      report.criticalPaths = {
        login: loginRun,
        readWorkspace: readRun,
        autosavePatch: patchRun,
        enqueueSimulation: enqueueRun
      }
      peakEnqueue = enqueueRun.requestsPerSec
      for (const [name, r] of Object.entries(report.criticalPaths as Record<string, Run>))
        log(`  ${name}: ${r.requestsPerSec} req/s, p95 ${r.p95} ms`)
    }

    if (wants('enqueue')) {
      // Enqueue with and without its job: the same transaction minus pg-boss's insert and the telemetry row.
      full.app.log.level = 'error'
      const noJob = await start({}, (app) =>
        app.post(
          '/bench/simulations-without-job/:id',
          { config: { auth: 'user', audit: { action: 'bench.simulation', resourceType: 'simulation' } } },
          async (request, reply) => {
            const id = randomUUID()
            const wsId = (request.params as { id: string }).id
            await app.sql.begin(async (tx) => {
              const [ws] =
                await tx`select * from app.workspaces where id = ${wsId} and owner_id = ${request.user?.id as string}`
              const [traffic] = await tx`select * from app.traffic_profiles where workspace_id = ${wsId}`
              await Promise.all([
                tx`insert into app.simulation_runs ${tx({ id, workspace_id: wsId, owner_id: ws.owner_id, design: ws.design, traffic: traffic as never, seed: 1 })}`,
                request.audit(tx, { resourceId: id, statusCode: 202 })
              ])
            })
            return reply.code(202).send({ id, status: 'queued' })
          }
        )
      )
      const post = { method: 'POST' as const, headers: auth, body: '{}' }
      await settle()
      const enqueue = await compareRuns(
        (duration) => cannon(`${noJob.address}/bench/simulations-without-job/${workspaces[1]}`, { ...post, duration }),
        (duration) => cannon(`${noJob.address}/workspaces/${workspaces[1]}/simulations`, { ...post, duration })
      )
      report.enqueue = { withoutJob: enqueue.a, withJob: enqueue.b, ratio: enqueue.ratio, rounds: enqueue.rounds }
      log(`  enqueue ratio ${enqueue.ratio} (target ≥ 0.75; rounds ${enqueue.rounds.join(' ')})`)
    }

    if (wants('audit')) {
      // Audited write vs the same write without its audit row.
      log('audit: an audited write vs the same write without its audit row')
      const writes = await start({}, (app) => {
        const write = (extra: 'audit' | 'select' | null) => async (request: import('fastify').FastifyRequest) => {
          const id = (request.params as { id: string }).id
          await app.sql.begin(async (tx) => {
            // The audit row goes as the product's routes write it: a `with` clause of the change's statement.
            const audit = extra === 'audit' ? request.auditWith(tx, { resourceId: id }) : tx``
            const update = tx`${audit} update app.workspaces set name = 'bench', updated_at = now() where id = ${id}`
            if (extra === 'select') await Promise.all([update, tx`select 1`])
            else await update
          })
          // The other variants declare an action only because every POST must; no row is written for them.
          if (extra !== 'audit') request.audited = true
          return { ok: true }
        }
        const config = { auth: 'public' as const, audit: { action: 'bench.write', resourceType: 'workspace' } }
        app.post('/bench/write-audited/:id', { config }, write('audit'))
        app.post('/bench/write-plain/:id', { config }, write(null))
        app.post('/bench/write-select/:id', { config }, write('select'))
      })
      let w = 0
      const writeRequests = (path: string) => [
        {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json' },
          body: '{}',
          setupRequest: (req: object) => ({ ...req, path: `${path}/${workspaces[w++ % workspaces.length]}` })
        }
      ]
      const load = (path: string) => (duration: number) =>
        cannon(writes.address, { requests: writeRequests(path), duration })
      await settle()
      const audit = await compareRuns(load('/bench/write-plain'), load('/bench/write-audited'))
      log(`  ratio ${audit.ratio} (target ≥ 0.80; rounds ${audit.rounds.join(' ')})`)
      // For scale: the same write with one trivial statement (select 1) pipelined beside the update,
      // the least any separate audit insert can cost.
      const floor = await compareRuns(load('/bench/write-plain'), load('/bench/write-select'))
      report.audit = {
        plain: audit.a,
        audited: audit.b,
        ratio: audit.ratio,
        rounds: audit.rounds,
        withSelect1: floor.b,
        select1Ratio: floor.ratio,
        select1Rounds: floor.rounds
      }
      log(`  one trivial extra statement: ratio ${floor.ratio} (rounds ${floor.rounds.join(' ')})`)
    }

    if (wants('telemetry')) {
      // Telemetry at sample rate 1 vs 0 on a database-backed read, then rows saved vs requests served.
      log('telemetry: sample rate 1 vs 0 on a database-backed read route')
      const off = await start({ REQUEST_TELEMETRY_SAMPLE_RATE: '0' })
      const on = await start({ REQUEST_TELEMETRY_SAMPLE_RATE: '1' })
      await settle()
      const telemetry = await compareRuns(
        (duration) => cannon(`${off.address}/workspaces/${workspaces[2]}`, { headers: auth, duration }),
        (duration) => cannon(`${on.address}/workspaces/${workspaces[2]}`, { headers: auth, duration })
      )
      // Rows saved vs requests served: one more run on a fresh server, then its graceful close.
      for (const app of apps) await app.telemetry.flush()
      await sql`truncate app.request_telemetry`
      const counted = await start({ REQUEST_TELEMETRY_SAMPLE_RATE: '1' })
      const countedRun = await cannon(`${counted.address}/workspaces/${workspaces[2]}`, {
        headers: auth,
        duration: DURATION / 2
      })
      await counted.app.close()
      const [{ saved }] =
        await sql`select count(*)::int as saved from app.request_telemetry where route = '/workspaces/:id'`
      report.telemetry = {
        off: telemetry.a,
        on: telemetry.b,
        ratio: telemetry.ratio,
        rounds: telemetry.rounds,
        rowsSaved: saved,
        requestsServed: countedRun.total,
        savedRatio: round(saved / countedRun.total, 3)
      }
      log(
        `  ratio ${telemetry.ratio} (target ≥ 0.95; rounds ${telemetry.rounds.join(' ')}); rows saved / served ${saved}/${countedRun.total}`
      )
    }

    if (wants('queue')) {
      // Queue: enqueue through pg-boss directly, then drain rates through a real worker process.
      log('queue: direct enqueue rate and worker drain rates')
      const boss = createBoss(sql, { role: 'cli', onError: () => {} })
      await boss.start()
      await createQueues(boss)
      const directCount = SMOKE ? 200 : 3000
      const t0 = performance.now()
      for (let i = 0; i < directCount; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => boss.send('maintenance', { task: 'probe' })))
      }
      const directRate = round(directCount / ((performance.now() - t0) / 1000))
      await sql`analyze pgboss.job`
      // The drain rate is the workers' own: from the first job they start to the last they finish
      // (job telemetry rows), so a worker's start-up (module loading, connecting) is not counted.
      const drain = async (queue: string, label: string) => {
        const since = new Date()
        const worker = await startWorker(
          {
            NODE_ENV: 'production',
            DATABASE_URL: pg.url,
            JWT_SECRET: env.JWT_SECRET,
            CORS_ALLOWED_ORIGINS: env.CORS_ALLOWED_ORIGINS,
            WORKER_SUPERVISE_INTERVAL_SECONDS: '15'
          },
          ['--queues', queue]
        )
        await waitFor(
          async () => {
            const [{ left }] =
              await sql`select count(*)::int as left from pgboss.job where name = ${queue} and state in ('created', 'retry', 'active')`
            return left === 0
          },
          { timeoutMs: 600_000, intervalMs: 100, what: `the ${queue} queue to drain` }
        )
        await stopProcess(worker)
        const [{ seconds }] = await sql<{ seconds: number }[]>`
          select extract(epoch from max(created_at) filter (where event = 'completed')
                                  - min(created_at) filter (where event = 'running'))::float8 as seconds
          from app.job_telemetry
          where queue = ${queue} and created_at >= ${since}
        `
        log(`  ${label}: drained in ${round(seconds)} s (first start to last completion)`)
        return seconds
      }
      const trivialSeconds = await drain('maintenance', `${directCount} trivial jobs`)
      // The enqueue phases left thousands of simulation jobs; drain a fixed number of them.
      await sql`
        delete from pgboss.job
        where name = 'simulation'
          and id not in (select id from pgboss.job where name = 'simulation' order by created_on limit ${SMOKE ? 100 : 2000})
      `
      await sql`analyze pgboss.job`
      const simulationJobs =
        await sql`select count(*)::int as n from pgboss.job where name = 'simulation' and state in ('created', 'retry')`
      const simulationSeconds = await drain('simulation', `${simulationJobs[0].n} simulation jobs`)
      await boss.stop({ graceful: false, close: false })
      const simulationDrainRate = round(simulationJobs[0].n / simulationSeconds)
      const trivialDrainRate = round(directCount / trivialSeconds)
      const drainToPeakEnqueueRatio = round(simulationDrainRate / peakEnqueue)
      // The ceiling on the machine the bench ran on: a job that does nothing, through the same
      // worker and telemetry, against the same API rate. A simulation job does strictly more.
      const trivialDrainToPeakEnqueueRatio = round(trivialDrainRate / peakEnqueue)
      report.queue = {
        apiEnqueueRps: peakEnqueue,
        directEnqueueRate: directRate,
        trivialDrainRate,
        simulationDrainRate,
        drainToPeakEnqueueRatio,
        trivialDrainToPeakEnqueueRatio
      }
      log(
        `  API enqueue ${peakEnqueue}/s, direct ${directRate}/s, drain trivial ${trivialDrainRate}/s, simulation ${simulationDrainRate}/s; ` +
          `drain / API enqueue: simulation ${drainToPeakEnqueueRatio}×, trivial ${trivialDrainToPeakEnqueueRatio}×`
      )
    }

    if (wants('engine')) {
      // The engine on designs of 5, 50 and 500 components.
      log('engine: designs of 5, 50 and 500 components')
      const engine: Record<string, unknown> = {}
      const traffic = { peakRps: 500, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }
      for (const n of [5, 50, 500]) {
        const design = chainDesign(n)
        const reps = SMOKE ? 1 : n === 500 ? 5 : 20
        // One unmeasured run first: the first run of a design shape pays for compiling the engine.
        simulate(design, traffic, { seed: reps })
        const t0 = performance.now()
        for (let i = 0; i < reps; i++) simulate(design, traffic, { seed: i })
        const ms = round((performance.now() - t0) / reps)
        engine[`components${n}`] = { msPerSimulation: ms }
        log(`  ${n} components: ${ms} ms per simulation (20 000 Monte-Carlo paths)`)
      }
      report.engine = engine
    }
  } finally {
    for (const app of apps) await app.close().catch(() => {})
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

/** Flags any p95 that grew more than 20 % against the last saved results. */
async function compare(previousPath: string, current: Record<string, unknown>) {
  const previous = JSON.parse(await readFile(previousPath, 'utf8').catch(() => '{}'))
  const p95s = (report: Record<string, unknown>, prefix = ''): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const [key, value] of Object.entries(report)) {
      if (value && typeof value === 'object') {
        const v = value as Record<string, unknown>
        if (typeof v.p95 === 'number') out[`${prefix}${key}`] = v.p95
        else Object.assign(out, p95s(v, `${prefix}${key}.`))
      }
    }
    return out
  }
  const before = p95s(previous)
  const after = p95s(current)
  let regressions = 0
  for (const [name, p95] of Object.entries(after)) {
    const old = before[name]
    if (old === undefined) continue
    const change = (p95 - old) / old
    const flag = change > 0.2 ? '  REGRESSION' : ''
    if (flag) regressions++
    log(`  ${name}: p95 ${old} → ${p95} ms (${change >= 0 ? '+' : ''}${round(change * 100)} %)${flag}`)
  }
  log(
    regressions === 0 ? 'compare: no p95 regression over 20 %' : `compare: ${regressions} p95 regression(s) over 20 %`
  )
  if (regressions > 0) process.exitCode = 1
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

await main()
