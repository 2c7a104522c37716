import type { Sql } from '../../db/client.ts'

// The admin API's statements on the telemetry (the audit log's are in src/audit/log.ts, users' in
// src/accounts/users.ts, jobs' are pg-boss's: src/queue/statements.ts).

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
