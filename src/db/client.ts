import postgres from 'postgres'

export type Sql = postgres.Sql
export type TransactionSql = postgres.TransactionSql

export interface SqlOptions {
  max?: number
  connectTimeoutSeconds?: number
  applicationName?: string
}

/** One pool per process; the caller owns it and must `end()` it on shutdown. */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    // pg-boss and migrations emit NOTICEs (IF NOT EXISTS); they are not worth a log line.
    onnotice: () => {},
    connection: { application_name: `${options.applicationName ?? 'sdc'}-${process.pid}` },
    // jsonb arrives parsed; bigint counts stay strings unless cast in SQL.
    transform: { undefined: null },
    // Its start-up type query rejects unhandled when a new connection fails (porsager/postgres#679-style).
    fetch_types: false
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
