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
          ? target.unsafe(text, values as postgres.ParameterOrJSON<never>[], { prepare })
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
}

export function createBoss(sql: Sql, { role, onError, superviseIntervalSeconds = 15 }: BossOptions): PgBoss {
  const boss = new PgBoss({
    db: fromPostgresJs(sql),
    schema: 'pgboss',
    supervise: role === 'worker',
    superviseIntervalSeconds,
    // Expiry and heartbeat failures are checked per queue no more often than this.
    monitorIntervalSeconds: superviseIntervalSeconds,
    schedule: role === 'worker',
    migrate: true,
    useListenNotify: role === 'worker'
  })
  // pg-boss emits errors from its background loops; without a listener they would crash the process.
  boss.on('error', onError)
  return boss
}
