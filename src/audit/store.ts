// The audit log's write side: the row as stored and the one statement that writes it. A route's
// row goes through its request (`request.audit`, plugins/audit.ts), an operator's through
// operatorRecord (the CLI); both end in insertAudit, inside the caller's transaction.
import { userInfo } from 'node:os'
import type { Fragment, Sql, TransactionSql } from '../db/client.ts'
import { scrub } from './scrub.ts'

export type AuditOutcome = 'success' | 'failure' | 'denied' | 'error' | 'replayed'

/** A row of app.audit_log as written (the chain's columns are the sealer's). */
export interface AuditRecord {
  action: string
  outcome: AuditOutcome
  request_id?: string | null
  user_id?: string | null
  resource_type?: string | null
  resource_id?: string | null
  method?: string | null
  path?: string | null
  status_code?: number | null
  /** Already scrubbed (scrub.ts). */
  changes?: unknown
  ip_address?: string | null
  user_agent?: string | null
  trace_id?: string | null
  organisation_id?: string | null
}

/**
 * `changes` as a jsonb parameter, whatever JSON it is. Left to postgres.js, which types booleans
 * itself, a refused request's body of `true` (or `[true]`) went as a Postgres boolean, the insert
 * failed, and the refusal lost its audit row (found by the fuzzer once it counted logged errors).
 */
const changesOf = (db: Sql | TransactionSql, changes: unknown) =>
  changes === null || changes === undefined ? null : db.json(changes as never)

/**
 * The audit row's insert: one fixed statement (prepared once per connection), where the `db(row)`
 * helper built its text per call. Sent when awaited, or nested in another statement as a clause.
 */
export function insertAudit(db: Sql | TransactionSql, row: AuditRecord): Fragment {
  return db`
    insert into app.audit_log
      (request_id, user_id, action, resource_type, resource_id, method, path, status_code, outcome, changes,
       ip_address, user_agent, trace_id, organisation_id)
    values
      (${row.request_id ?? null}, ${row.user_id ?? null}, ${row.action}, ${row.resource_type ?? null},
       ${row.resource_id ?? null}, ${row.method ?? null}, ${row.path ?? null}, ${row.status_code ?? null},
       ${row.outcome}, ${changesOf(db, row.changes)}, ${row.ip_address ?? null}, ${row.user_agent ?? null},
       ${row.trace_id ?? null}, ${row.organisation_id ?? null})
  `
}

/** An operator's action (the CLI) as an audit row: operators' changes are on the record too. */
export function operatorRecord(
  action: string,
  resourceType: string,
  resourceId: string | null,
  changes: unknown
): AuditRecord {
  return {
    action,
    resource_type: resourceType,
    resource_id: resourceId,
    method: 'CLI',
    path: `cli ${action}`,
    outcome: 'success',
    changes: scrub(changes),
    user_agent: `cli (${userInfo().username})`
  }
}
