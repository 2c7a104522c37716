import { readFileSync } from 'node:fs'
import postgres from 'postgres'
import { driverFixes as allDriverFixes, missingFixes } from './driver-patch.ts'

export type Sql = postgres.Sql
export type TransactionSql = postgres.TransactionSql
/** A statement or part of one, not yet sent: nested in another with `${fragment}`. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>

export interface SqlOptions {
  max?: number
  connectTimeoutSeconds?: number
  /** Server-side limit per statement (the api's handler timeout); none when unset. */
  statementTimeoutMs?: number
  applicationName?: string
  /** Refuse to connect with an unpatched driver (production); otherwise warn once. */
  requirePatchedDriver?: boolean
}

/** Parses a one-dimensional Postgres array literal such as {a,"b c",NULL}. */
export function parsePgArray(text: string): (string | null)[] {
  const items: (string | null)[] = []
  if (text.length < 2 || text === '{}') return items
  let i = 1
  while (i < text.length - 1) {
    if (text[i] === '"') {
      let value = ''
      i++
      while (text[i] !== '"') {
        if (text[i] === '\\') i++
        value += text[i++]
      }
      items.push(value)
      i += 2
    } else {
      const end = text.indexOf(',', i)
      const raw = text.slice(i, end === -1 ? text.length - 1 : end)
      items.push(raw === 'NULL' ? null : raw)
      i = end === -1 ? text.length : end + 1
    }
  }
  return items
}

const numbers = (text: string) => parsePgArray(text).map((v) => (v === null ? null : Number(v)))
// A value may already be a literal (pgArray at the call site) or a JS array.
const serialize = (value: unknown) => (typeof value === 'string' ? value : pgArray(value as unknown[]))

/** uuid[], text[], varchar[] and int[] results arrive as JS arrays (bigint[] as strings). */
const ARRAY_TYPES = {
  uuidArray: { to: 2951, from: [2951], serialize, parse: parsePgArray },
  textArray: { to: 1009, from: [1009, 1015, 1016], serialize, parse: parsePgArray },
  intArray: { to: 1007, from: [1005, 1007], serialize, parse: numbers }
}

/** One pool per process; the caller owns it and must `end()` it on shutdown. */
/**
 * The project's fixes to postgres.js (patches/, applied at install by patch-package) that the loaded
 * driver lacks: an install with --ignore-scripts runs unpatched, and can then hand one caller's
 * answer to another or run a query inside another caller's transaction.
 */
let warnedUnpatched = false

export function missingDriverFixes(): string[] {
  // The ES module files the process loads (src/…; cjs/ is the same for require()).
  driverFixes ??= [...new Set(allDriverFixes().map((f) => f.file))]
    .filter((file) => file.startsWith('src/'))
    .flatMap((file) =>
      missingFixes(readFileSync(new URL(file.slice(4), import.meta.resolve('postgres')), 'utf8'), file)
    )
  return driverFixes
}
let driverFixes: string[] | undefined

/** Throws (strict) or warns once when the driver lacks fixes. */
export function checkDriver(missing: readonly string[], strict: boolean): void {
  if (missing.length === 0) return
  const message = `postgres.js is not patched (installed without its postinstall?): missing "${missing.join('", "')}"; run npx patch-package`
  if (strict) throw new Error(message)
  if (!warnedUnpatched) process.emitWarning(message, { code: 'SDC_UNPATCHED_DRIVER' })
  warnedUnpatched = true
}

export function createSql(url: string, options: SqlOptions = {}): Sql {
  checkDriver(missingDriverFixes(), options.requirePatchedDriver ?? false)
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    // postgres.js waits up to 20 s (3^failures / 100) before reconnecting after failures, so
    // a pool took that long to recover from a restarted Postgres; cap the wait at one second.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    max_lifetime: 60 * 30,
    // pg-boss and migrations emit NOTICEs (IF NOT EXISTS); they are not worth a log line.
    onnotice: () => {},
    connection: {
      application_name: `${options.applicationName ?? 'sdc'}-${process.pid}`,
      // A transaction left open (a hung handler) must not hold its locks, the audit chain's included, for long.
      idle_in_transaction_session_timeout: 60_000,
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {})
    },
    // jsonb arrives parsed; bigint counts stay strings unless cast in SQL.
    transform: { undefined: null },
    // Its start-up type query rejects unhandled when a new connection fails (porsager/postgres#1192),
    // so array types are declared here instead of fetched.
    fetch_types: false,
    types: ARRAY_TYPES
  })
}

/** Pool figures for /health, read from pg_stat_activity for this process's application_name. */
export async function poolStats(sql: Sql): Promise<{ max: number; open: number; active: number; idle: number }> {
  const name = (sql.options.connection as Record<string, unknown>).application_name as string
  const [row] = await sql<{ open: number; active: number; idle: number }[]>`
    select count(*)::int as open,
           count(*) filter (where state = 'active')::int as active,
           count(*) filter (where state like 'idle%')::int as idle
    from pg_stat_activity
    where application_name = ${name}
  `
  return { max: sql.options.max, ...row }
}

/**
 * A Postgres array literal. The pool runs without fetch_types, so postgres.js cannot type
 * JS arrays itself; bind this with a cast, e.g. `${pgArray(ids)}::uuid[]`.
 */
export function pgArray(items: readonly unknown[]): string {
  const quote = (v: unknown) =>
    v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`
  return `{${items.map(quote).join(',')}}`
}

/** A start-up step's log line; warnings say so. */
export type StartupLog = (line: string, level?: 'warn') => void

/**
 * Waits until the database answers `select 1`, retrying with backoff, so a process started
 * while Postgres is down comes up when it returns. Throws after `timeoutSeconds` (0: no retry).
 * Each failed attempt is logged as a warning.
 */
export async function waitForDatabase(
  url: string,
  { timeoutSeconds, log }: { timeoutSeconds: number; log: StartupLog }
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000
  let delayMs = 250
  for (let attempt = 1; ; attempt++) {
    const sql = createSql(url, { max: 1, connectTimeoutSeconds: 2, applicationName: 'sdc-wait' })
    try {
      await sql`select 1`
      if (attempt > 1) log('database reachable')
      return
    } catch (err) {
      if (Date.now() + delayMs > deadline) throw err
      log(`database unreachable (${(err as Error).message}); retrying in ${delayMs} ms`, 'warn')
    } finally {
      await sql.end({ timeout: 1 })
    }
    await new Promise((r) => setTimeout(r, delayMs))
    delayMs = Math.min(delayMs * 2, 5000)
  }
}
