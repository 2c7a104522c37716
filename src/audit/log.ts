import type { Fragment, Sql } from '../db/client.ts'

// The audit log's read side: the admin API's filtered pages (the chain's reads are chain.ts's).

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
  since?: Date
  until?: Date
  action?: string
  userId?: string
  resourceType?: string
}

/**
 * Audit rows newest first, after the page `after` (the caller's keyset condition on `id`), one
 * more than `limit` so the caller knows whether another follows.
 */
export function auditRows(sql: Sql, q: AuditFilter, after: Fragment, limit: number) {
  return sql<AuditRow[]>`
    select *
    from app.audit_log
    where true
      ${q.since ? sql`and created_at >= ${q.since}` : sql``}
      ${q.until ? sql`and created_at < ${q.until}` : sql``}
      ${q.action ? sql`and action = ${q.action}` : sql``}
      ${q.userId ? sql`and user_id = ${q.userId}` : sql``}
      ${q.resourceType ? sql`and resource_type = ${q.resourceType}` : sql``}
      ${after}
    order by id desc
    limit ${limit + 1}
  `
}
