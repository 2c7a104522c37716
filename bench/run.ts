// `npm run bench [-- --smoke] [-- --compare] [-- --only phase,…] [-- --targets name,…] [-- --rounds N] [-- --out DIR]`.
// `--targets` measures only the named targets of the phases that honour it (database: `read`,
// `readTracedSampled`, …) and starts only the servers they need: for comparing variants while
// working on one; its results are not a full run's (write them elsewhere with `--out`).
// Every server under test runs in a process of its own and the load generator (autocannon) in
// another, never in the process it measures; each figure is a median over rounds of A B … B A
// passes, with the server's CPU µs per request read from /proc. CPU-bound phases pin the server to
// core 0 and the load generator to core 1; phases that reach Postgres leave them unpinned.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { JOBS } from '../jobs/registry.ts'
import { createSql } from '../src/db/client.ts'
import { startEmbeddedPostgres } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { urlAs } from '../src/db/roles.ts'
import { prepareQueues } from '../src/queue/queues.ts'
import { freePort } from '../test/helpers/stack.ts'
import { type BenchContext, DESIGN } from './lib/context.ts'
import { treeCpuUs } from './lib/cpu.ts'
import { round } from './lib/measure.ts'
import { type Server, startServer } from './lib/servers.ts'
import { PHASES } from './phases/index.ts'
import { targetChecks } from './render.ts'

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
    only: { type: 'string' },
    targets: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string', default: new URL('./results/', import.meta.url).pathname }
  }
})
const SMOKE = values.smoke as boolean
const names = PHASES.map((p) => p.name)
const targetsWanted = values.targets ? new Set(values.targets.split(',').map((t) => t.trim())) : null
const only = values.only ? new Set(values.only.split(',').map((p) => p.trim())) : null
for (const phase of only ?? []) {
  if (!names.includes(phase)) throw new Error(`--only: unknown phase ${phase} (phases: ${names.join(', ')})`)
}
// `--rounds N`: more rounds for a comparison on a busy machine (the medians steady with them).
const ROUNDS = values.rounds ? Number(values.rounds) : SMOKE ? 1 : 7
if (!(Number.isInteger(ROUNDS) && ROUNDS > 0)) throw new Error('--rounds: a positive whole number')
const SECONDS = 1
// Long enough that a server's CPU a request no longer falls as V8 compiles (after 2 s it still fell
// 10–25 % from the first round to the last: database.aging); shared among a variant's processes.
const WARMUP_SECONDS = SMOKE ? 1 : 12
// Each variant of a ratio is served by this many processes, one per round in turn. Two processes
// of the same code differed by up to 3.5 % (database.twinVsRead): with two a variant, one draw
// still moved a 5 % target across its line.
const PROCESSES_PER_VARIANT = SMOKE ? 1 : 3
const CONNECTIONS = 64
const DB_CONNECTIONS = 20
const log = (msg: string) => process.stdout.write(`${msg}\n`)
const PASSWORD = 'bench password long enough'
const JWT_SECRET = 'bench-secret-that-is-long-enough-1234567'

async function main() {
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'sdc-bench-'))
  const dataDir = join(dir, 'data')
  // The database phase runs 7 variants of 3 processes, each with a pool of up to 10 connections:
  // at 200 connections the last to fill its pool was refused and answered 503s under load.
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bench', maxConnections: 400 })
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const dbCpu = () => treeCpuUs(postmaster)
  // The bench's own statements (vacuum, checkpoint) need the superuser; the servers get the app's role.
  const sql = createSql(urlAs(pg.url, 'postgres'), { max: 5, applicationName: 'sdc-bench' })
  const owner = createSql(pg.ownerUrl, { max: 2, applicationName: 'sdc-migrate' })
  await migrate(owner)
    .then(() => prepareQueues(owner, JOBS, { installSchema: true }))
    .finally(() => owner.end())
  const report: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    smoke: SMOKE,
    // Ratios move with the CPU: HMAC (the boilerplate verifies a token per request) is several
    // times cheaper with SHA extensions, for one.
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    method: {
      rounds: ROUNDS,
      secondsPerPass: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      processesPerVariant: PROCESSES_PER_VARIANT,
      connections: CONNECTIONS,
      dbConnections: DB_CONNECTIONS
    }
  }
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    JWT_SECRET,
    DATABASE_URL: pg.url,
    CORS_ALLOWED_ORIGINS: 'http://localhost:3000',
    // Production's default asks new accounts to confirm their email; the bench's users log in at once.
    AUTH_EMAIL_VERIFICATION_REQUIRED: 'false',
    RATE_LIMIT_MAX_REQUESTS: '1000000000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '1000000000',
    QUOTA_ACTIVE_RUNS: '10000000',
    QUOTA_RUNS_PER_DAY: '10000000',
    QUOTA_STORED_RUNS: '10000000',
    QUOTA_WORKSPACES: '10000000',
    QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '1000000',
    QUOTA_STORAGE_BYTES: String(1024 ** 4),
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

  const ctx: BenchContext = {
    smoke: SMOKE,
    rounds: ROUNDS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    processesPerVariant: PROCESSES_PER_VARIANT,
    connections: CONNECTIONS,
    dbConnections: DB_CONNECTIONS,
    wants: (target) => targetsWanted === null || targetsWanted.has(target),
    log,
    sql,
    dbCpu,
    postmaster,
    env,
    start,
    settle,
    post,
    token,
    userId,
    auth,
    workspaces,
    learners,
    report
  }
  try {
    for (const phase of PHASES) {
      if (only && !only.has(phase.name)) continue
      report[phase.name] = await phase.run(ctx)
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
  // A run of some targets only is no full run: it never replaces latest.json.
  const latestPath = join(outDir, SMOKE ? 'smoke.json' : targetsWanted ? 'targets.json' : 'latest.json')
  if (values.compare) await compare(join(outDir, SMOKE ? 'smoke.json' : 'latest.json'), report)
  await writeFile(latestPath, `${JSON.stringify(report, null, 2)}\n`)
  log(`saved ${latestPath}`)
}

/**
 * Flags CPU µs per request that grew, or a ratio that fell, more than 20 % against the last saved
 * run (requests per second move too much on a shared machine to gate on), a database server whose
 * CPU a request grew more than 20 % from the first round to the last, and a ratio whose middle half
 * of passes does not clear its target (a median that does is not enough to say it holds).
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
  // A server that slows as it serves regresses whatever the last run said (a driver queue once did).
  const aging = (current.database as { aging?: Record<string, number> } | undefined)?.aging ?? {}
  for (const [name, value] of Object.entries(aging)) {
    if (value <= 1.2) continue
    regressions++
    log(`  database.aging.${name}: ${value}× (last round's CPU a request over the first's)  REGRESSION`)
  }
  // A ratio whose middle half does not clear its target: its median may, but the run cannot say it holds.
  const complete = ['overhead', 'database', 'timeToResult'].every((k) => current[k])
  for (const check of complete ? targetChecks(current) : []) {
    if (check.spreadMet !== false || check.reported) continue
    regressions++
    log(`  ${check.label}: ${check.measured}, target ${check.target}: its middle half does not clear it  UNSURE`)
  }
  log(
    regressions === 0 ? 'compare: no regression over 20 %' : `compare: ${regressions} regression(s) or unsure target(s)`
  )
  if (regressions > 0) process.exitCode = 1
}

await main()
