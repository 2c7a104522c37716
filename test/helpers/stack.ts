import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { JOBS } from '../../jobs/registry.ts'
import { createSql, pgArray, type Sql } from '../../src/db/client.ts'
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { applyRoles, LoginRoles, urlAs } from '../../src/db/roles.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { prepareQueues } from '../../src/queue/queues.ts'
import { call } from './http.ts'
import { type Forked, fork } from './process.ts'
import { until } from './wait.ts'

/** What every scenario gets: fresh databases, a Redis if there is one, and its mode. */
export interface Context {
  mode: 'short' | 'long'
  /** A fresh, migrated database's URL as the app's role; dropped when the run ends. */
  createDatabase(): Promise<string>
  redisUrl: string | undefined
  log: (line: string) => void
}

/** Settings that make processes quick to react in a scenario; each scenario adds its own. */
export const BASE_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  API_PORT: '0',
  RATE_LIMIT_MAX_REQUESTS: '1000000',
  AUTH_RATE_LIMIT_MAX_REQUESTS: '1000000',
  SHUTDOWN_DRAIN_MS: '300',
  HANDLER_TIMEOUT_MS: '2000',
  DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
  WORKER_SUPERVISE_INTERVAL_SECONDS: '1',
  // The scenarios stream hundreds of runs from one user: the per-user quotas are not what they test.
  QUOTA_ACTIVE_RUNS: '100000',
  QUOTA_RUNS_PER_DAY: '10000000',
  QUOTA_STORED_RUNS: '10000000',
  QUOTA_WORKSPACES: '10000000',
  QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '1000000',
  QUOTA_STORAGE_BYTES: String(1024 ** 4)
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export interface Api extends Forked {
  port: number
}

/** Forks `src/server.ts` (on API_PORT, or a free port) and waits until it answers. */
export async function startApi(env: Record<string, string>, timeoutMs = 30_000): Promise<Api> {
  const port = Number(env.API_PORT ?? (await freePort()))
  const api = fork('src/server.ts', { ...BASE_ENV, ...env, API_PORT: String(port) })
  let exited = false
  void api.exited.then(() => {
    exited = true
  })
  await until(async () => exited || (await call(port, { path: '/health/live', timeoutMs: 1000 })).status === 200, {
    timeoutMs,
    what: 'the api to listen'
  })
  if (exited) throw new Error(`the api exited at start: ${api.stderr.join('')}`)
  return Object.assign(api, { port })
}

/** Forks `jobs/worker.ts` and waits until it works its queues. */
export async function startWorker(env: Record<string, string>, args: string[] = []): Promise<Forked> {
  const worker = fork('jobs/worker.ts', { ...BASE_ENV, LOG_LEVEL: 'info', ...env }, args)
  // 'worker ready' is an info line; the worker logs one line per job only on failures.
  await worker.waitForLog(/worker ready/, 30_000)
  return worker
}

export async function stopProcess(proc: Forked, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited
  proc.child.kill(signal)
  return proc.exited
}

/**
 * A throw-away embedded PostgreSQL on a free port, for a test or reliability run, with the
 * cluster's roles (sql/roles.sql); `stop` removes it.
 */
export async function startScratchPostgres(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-scratch-pg-'))
  const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort() })
  return {
    adminUrl: pg.adminUrl,
    stop: async () => {
      await pg.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** A PostgreSQL of the scenario's own, so it can be stopped and started without touching others. */
export class OwnPostgres {
  private pg: EmbeddedPostgres | null = null
  private dir = ''
  private port = 0
  /** The database as the app's role. */
  url = ''
  /** The database as its owner. */
  ownerUrl = ''

  async start(): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'sdc-reliability-pg-'))
      this.port = await freePort()
    }
    this.pg = await startEmbeddedPostgres({ dataDir: join(this.dir, 'data'), port: this.port, database: 'sdc' })
    this.url = this.pg.url
    this.ownerUrl = this.pg.ownerUrl
  }

  async stop(): Promise<void> {
    await this.pg?.stop()
    this.pg = null
  }

  async destroy(): Promise<void> {
    await this.stop()
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}

/** A database as the app's role logs in to it and as its owner does. */
export interface TestDatabase {
  /** The app's role (sdc_app_login): what the api, the worker and the CLI get. */
  url: string
  /** The owner (sdc_owner): migrations, and checks that need more than the app may do. */
  ownerUrl: string
}

/** Migrates a database and installs pg-boss's schema and the queues, as `npm run migrate` does. */
export async function setUpDatabase(ownerSql: Sql): Promise<void> {
  await migrate(ownerSql)
  await prepareQueues(ownerSql, JOBS, { installSchema: true })
}

/**
 * Creates databases on an admin (superuser) URL, owned by sdc_owner and migrated as it (the
 * cluster's roles made first, sql/roles.sql); drops them all at `dropAll()`.
 */
export class DatabaseFactory {
  private readonly names: string[] = []
  private readonly adminUrl: string
  private roles: Promise<void> | null = null
  constructor(adminUrl: string) {
    this.adminUrl = adminUrl
  }

  /** A fresh database (migrated unless told otherwise); its URLs. */
  async create({ migrated = true } = {}): Promise<TestDatabase> {
    this.roles ??= applyRoles(this.adminUrl)
    await this.roles
    const name = `sdc_test_${randomBytes(6).toString('hex')}`
    const admin = postgres(this.adminUrl, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name} owner ${LoginRoles.owner}`).finally(() => admin.end())
    this.names.push(name)
    const url = new URL(this.adminUrl)
    url.pathname = `/${name}`
    const database = { url: urlAs(url.toString(), LoginRoles.app), ownerUrl: urlAs(url.toString(), LoginRoles.owner) }
    if (migrated) {
      const sql = createSql(database.ownerUrl, { max: 2 })
      await setUpDatabase(sql).finally(() => sql.end())
    }
    return database
  }

  async dropAll(): Promise<void> {
    const admin = postgres(this.adminUrl, { max: 1, onnotice: () => {} })
    for (const name of this.names.splice(0)) await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

/** Registers a user through the API and returns its bearer header. */
export async function userOn(
  port: number,
  email: string,
  headers: Record<string, string> = {}
): Promise<Record<string, string>> {
  const password = 'reliability suite password'
  const reg = await call(port, {
    method: 'POST',
    path: '/auth/register',
    headers,
    body: { email, password, displayName: 'Reliability' }
  })
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.body ?? reg.error}`)
  const login = await call(port, { method: 'POST', path: '/auth/login', headers, body: { email, password } })
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.body ?? login.error}`)
  return { authorization: `Bearer ${JSON.parse(login.body as string).accessToken}` }
}

/**
 * A short-lived pool for the scenario's own checks, as the owner of `url`'s database: the checks
 * add triggers and tables of their own (the scratch and test servers trust loopback logins).
 */
export function checkSql(url: string): Sql {
  return createSql(urlAs(url, LoginRoles.owner), { max: 2, applicationName: 'sdc-reliability' })
}

/**
 * A short-lived pool that reads every row, workspaces, runs and grades included (row-level security
 * hides them from the owner and the app without a user's context): the backup login, BYPASSRLS
 * and read-only, for a scenario's read-only checks.
 */
export function readAllSql(url: string): Sql {
  return createSql(urlAs(url, LoginRoles.backup), { max: 2, applicationName: 'sdc-reliability' })
}

/** What a scenario reports: its figures and every invariant it saw broken (none, when all is well). */
export interface Result {
  figures: Record<string, unknown>
  violations: string[]
}

/** Records `message` when `ok` is false; returns `ok`. */
export function expect(violations: string[], ok: boolean, message: string): boolean {
  if (!ok) violations.push(message)
  return ok
}

/**
 * Counts every write of a simulation result with a trigger of the scenario's own (not part of
 * the app's schema), so "stored exactly once" is measured, not assumed.
 */
export async function countResultWrites(sql: Sql): Promise<void> {
  await sql
    .unsafe(`
    create table if not exists public.reliability_result_writes (run_id uuid not null, at timestamptz not null default clock_timestamp());
    -- The trigger runs as the worker's role.
    grant insert on public.reliability_result_writes to sdc_app;
    create or replace function public.reliability_count_result_write() returns trigger language plpgsql as $$
    begin
      insert into public.reliability_result_writes (run_id) values (new.id);
      return new;
    end $$;
    drop trigger if exists reliability_result_writes on app.simulation_runs;
    create trigger reliability_result_writes after update of result on app.simulation_runs
      for each row when (new.result is not null) execute function public.reliability_count_result_write();
  `)
    .simple()
}

export interface JobFigures {
  jobsCreated: number
  jobsCompleted: number
  jobsFailed: number
  jobsDeadLettered: number
  jobsLost: number
  /** Runs whose job was delivered more than once (a killed worker's job, run again). */
  jobsDuplicated: number
  /** Runs whose result was written more than once: must stay 0. */
  jobsResultWrittenTwice: number
}

/** Simulation runs and their jobs, as the database tells it. */
export async function simulationFigures(sql: Sql, runIds: string[]): Promise<JobFigures> {
  const [row] = await sql<Omit<JobFigures, 'jobsCreated' | 'jobsLost'>[]>`
    select count(*) filter (where r.status = 'completed')::int as "jobsCompleted",
           count(*) filter (where r.status = 'failed')::int as "jobsFailed",
           (select count(*)::int from pgboss.job where name = 'simulation_dead') as "jobsDeadLettered",
           count(*) filter (where r.attempts > 1)::int as "jobsDuplicated",
           count(*) filter (where (select count(*) from public.reliability_result_writes w where w.run_id = r.id) > 1)::int
             as "jobsResultWrittenTwice"
    from app.simulation_runs r
    where r.id = any(${pgArray(runIds)}::uuid[])
  `
  return {
    jobsCreated: runIds.length,
    ...row,
    jobsLost: runIds.length - row.jobsCompleted - row.jobsFailed
  }
}

/** Creates a workspace with the sample design through the API; returns its id. */
export async function workspaceOn(port: number, auth: Record<string, string>, name = 'Reliability'): Promise<string> {
  const res = await call(port, {
    method: 'POST',
    path: '/workspaces',
    headers: auth,
    body: { name, design: SAMPLE_DESIGN }
  })
  if (res.status !== 201) throw new Error(`workspace create failed: ${res.status} ${res.body ?? res.error}`)
  return JSON.parse(res.body as string).id
}

/** Queues `count` simulation runs through the API (retrying 503s); returns their ids. */
export async function enqueueSimulations(
  port: () => number,
  auth: Record<string, string>,
  workspaceId: string,
  count: number,
  /** Goes on past `count` while this answers true (a stream that must outlast something). */
  keepGoing: () => boolean = () => false,
  /** Awaited before each run past `count`: a stream paced to what the workers keep up with. */
  pace: () => Promise<void> = async () => {}
): Promise<string[]> {
  const ids: string[] = []
  const batch = randomUUID()
  for (let i = 0; i < count || keepGoing(); i++) {
    if (i >= count) await pace()
    for (let attempt = 0; ; attempt++) {
      const res = await call(port(), {
        method: 'POST',
        path: `/workspaces/${workspaceId}/simulations`,
        headers: { ...auth, 'idempotency-key': `sim-${batch}-${i}` },
        body: { seed: i }
      })
      if (res.status === 202) {
        ids.push(JSON.parse(res.body as string).id)
        break
      }
      if (attempt > 100) throw new Error(`enqueue failed: ${res.status} ${res.body ?? res.error}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return ids
}
