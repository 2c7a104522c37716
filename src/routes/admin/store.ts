import type { Sql } from '../../db/client.ts'
import { afterCursor, instantOf } from '../pagination.ts'

// The admin API's statements on the audit log and the telemetry (users' are in src/accounts/users.ts,
// jobs' are pg-boss's: src/queue/statements.ts).

export interface AuditRow {
  id: string
  created_at: Date
  request_id: string | null
  user_id: string | null
  action: string
  resource_type: string | null
  resource_id: string | null
  method: string | null
  path: string | null
  status_code: number | null
  outcome: string
  changes: unknown
  ip_address: string | null
  user_agent: string | null
  hash: string | null
}

export interface AuditFilter {
  since?: string
  until?: string
  action?: string
  userId?: string
  resourceType?: string
  cursor?: string
  limit: number
}

/** Audit rows newest first, one more than the page so the caller knows whether another follows. */
export function auditRows(sql: Sql, q: AuditFilter) {
  return sql<AuditRow[]>`
    select *
    from app.audit_log
    where true
      ${q.since ? sql`and created_at >= ${instantOf(q.since, 'since')}` : sql``}
      ${q.until ? sql`and created_at < ${instantOf(q.until, 'until')}` : sql``}
      ${q.action ? sql`and action = ${q.action}` : sql``}
      ${q.userId ? sql`and user_id = ${q.userId}` : sql``}
      ${q.resourceType ? sql`and resource_type = ${q.resourceType}` : sql``}
      ${afterCursor(sql, q.cursor, 'serial')}
    order by id desc
    limit ${q.limit + 1}
  `
}

/** Request counts, error rate and latency percentiles per route since `since`. */
export function routeSummary(sql: Sql, since: Date) {
  return sql<
    { method: string; route: string | null; count: number; error_rate: number; p50: number; p95: number; p99: number }[]
  >`
    select method,
           route,
           count(*)::int as count,
           avg((status_code >= 500)::int)::float8 as error_rate,
           percentile_cont(0.50) within group (order by duration_ms) as p50,
           percentile_cont(0.95) within group (order by duration_ms) as p95,
           percentile_cont(0.99) within group (order by duration_ms) as p99
    from app.request_telemetry
    where created_at >= ${since}
    group by method, route
    order by count desc
  `
}
