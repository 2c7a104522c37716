import { type Db as IDatabase, PgBoss } from 'pg-boss'
import type postgres from 'postgres'
import type { Sql, TransactionSql } from '../db/client.ts'

type Runner = Sql | TransactionSql

const TRANSACTION_SCRIPT = /^\s*BEGIN;([\s\S]*);\s*COMMIT;\s*$/i

function rowsOf(result: unknown): unknown[] {
  if (!Array.isArray(result)) return []
  // A multi-statement script returns one result per statement; a RETURNING may sit in any of them.
  return result.some(Array.isArray) ? result.flat() : [...result]
}

/** Postgres's `unknown` pseudo-type: a parameter declared with it is typed by the server, as if undeclared. */
const UNKNOWN_OID = 705

/** A Postgres array literal, as node-postgres writes one (`{"a","b",NULL}`). */
function arrayLiteral(items: readonly unknown[]): string {
  const item = (v: unknown): string =>
    v === null || v === undefined
      ? 'NULL'
      : Array.isArray(v)
        ? arrayLiteral(v)
        : `"${textOf(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`
  return `{${items.map(item).join(',')}}`
}

/** A parameter's text as node-postgres sends it, the driver pg-boss's statements are written for. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`
  if (Array.isArray(value)) return arrayLiteral(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/**
 * pg-boss's parameters, passed as text of `unknown` type: Postgres parses each as the type the
 * statement gives it. Left to postgres.js, a parameter is serialised by the type the server
 * describes, so pg-boss's already-stringified JSON under `$1::json` was stringified again, a JSON
 * string scalar (json_to_recordset then fails), and a string under a timestamptz went through `new Date`.
 */
function untyped(sql: Runner, values: readonly unknown[]) {
  return values.map((v) => (v === null || v === undefined ? null : sql.typed(textOf(v), UNKNOWN_OID)))
}

export interface AdapterOptions {
  /**
   * Run parameterised statements as prepared statements (parsed and planned once per
   * connection). Only for a bounded set of texts: `send` builds one insert per queue, and
   * planning that insert on every request would be a large share of the enqueue route's cost.
   */
  prepare?: boolean
}

/**
 * pg-boss's database adapter over postgres.js. Built on a transaction, it makes `send`
 * part of the caller's transaction: the job commits or rolls back with the change.
 */
export function fromPostgresJs(sql: Runner, { prepare = false }: AdapterOptions = {}): IDatabase {
  const db: IDatabase = {
    async executeSql(text, values) {
      const runOn = (target: Runner) =>
        values && values.length > 0
          ? target.unsafe(text, untyped(target, values) as postgres.ParameterOrJSON<never>[], { prepare })
          : target.unsafe(text).simple()
      // pg-boss ships schema installs and maintenance as BEGIN…COMMIT scripts; they need one
      // connection. sql.reserve() hangs on a cold pool without fetch_types, so run the body in sql.begin.
      const script = TRANSACTION_SCRIPT.exec(text)
      if (script && 'begin' in sql) {
        const body = script[1]
        return { rows: rowsOf(await sql.begin((tx) => tx.unsafe(body).simple())) }
      }
      return { rows: rowsOf(await runOn(sql)) }
    }
  }
  if ('listen' in sql) {
    db.listen = async (channel, onNotification, onReconnect) => {
      const handle = await sql.listen(channel, onNotification, onReconnect)
      return { close: () => handle.unlisten() }
    }
  }
  return db
}

export type Boss = PgBoss

export interface BossOptions {
  /** The worker runs supervision, maintenance and schedules; the api only sends. */
  role: 'api' | 'worker' | 'cli'
  onError: (err: Error) => void
  /** How often the worker's supervisor fails jobs whose heartbeat or expiry ran out. */
  superviseIntervalSeconds?: number
  /**
   * Create or migrate pg-boss's schema at start: the owner's `npm run migrate` only. The app's role
   * owns nothing and cannot; its instances check that the schema is installed and current.
   */
  installSchema?: boolean
}

export function createBoss(
  sql: Sql,
  { role, onError, superviseIntervalSeconds = 15, installSchema = false }: BossOptions
): PgBoss {
  const boss = new PgBoss({
    db: fromPostgresJs(sql),
    schema: 'pgboss',
    supervise: role === 'worker',
    superviseIntervalSeconds,
    // Expiry and heartbeat failures are checked per queue no more often than this.
    monitorIntervalSeconds: superviseIntervalSeconds,
    schedule: role === 'worker',
    migrate: installSchema,
    useListenNotify: role === 'worker'
  })
  // pg-boss emits errors from its background loops; without a listener they would crash the process.
  boss.on('error', onError)
  return boss
}
