import type { Sql } from './client.ts'

/** How long readiness waits for the database before it calls it unreachable. */
export const READINESS_TIMEOUT_MS = 1000

export type DatabaseReadiness = 'connected' | 'unreachable' | 'migrations_pending'

/**
 * The database half of readiness: reachable within `timeoutMs` and every migration applied. Once
 * the migrations are seen applied, later checks send a constant query (they cannot be unapplied).
 * Shared by /health/ready and the `sdc_ready` metric, so the probe and the alert agree.
 */
export function databaseReadiness(sql: Sql, expectedMigrations: number, timeoutMs: number) {
  let migrationsApplied = false
  return async function check(): Promise<DatabaseReadiness> {
    const query = migrationsApplied
      ? sql`select ${expectedMigrations}::int as count`
      : sql`select count(*)::int as count from app.schema_migrations`
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        // After this turn's I/O: a timer that fired late because the loop was busy must not beat
        // an answer that has already arrived (a healthy database reported unreachable).
        timer = setTimeout(() => setImmediate(() => reject(new Error('readiness timeout'))), timeoutMs)
      })
      const [row] = await Promise.race([query, timeout])
      if (row.count < expectedMigrations) return 'migrations_pending'
      migrationsApplied = true
      return 'connected'
    } catch {
      // No query.cancel(): it opens a new connection, which fails too when the server is gone.
      query.catch(() => {})
      return 'unreachable'
    } finally {
      clearTimeout(timer)
    }
  }
}
