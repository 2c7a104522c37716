import type { Sql, TransactionSql } from '../../db/client.ts'
import { afterKey, type Keyset, type Paged } from '../../db/keyset.ts'
import type { TrafficRow, WorkspaceRow } from '../workspaces/store.ts'

// The account routes' statements: password-reset tokens, deleting an account, and the pages of
// the data export.

/** The account an email names, if any (the reset request's and the sign-up's only candidate). */
export async function accountByEmail(
  sql: Sql | TransactionSql,
  emailNormalized: string
): Promise<{ id: string; disabled: boolean } | undefined> {
  const [user] = await sql<{ id: string; disabled: boolean }[]>`
    select id, disabled_at is not null as disabled
    from app.users
    where email_normalized = ${emailNormalized}
  `
  return user
}

/**
 * Uses a reset token: single use, expiring, of an enabled account; its user, or none. An unknown,
 * used or expired token all fail the same way.
 */
export async function useResetToken(tx: TransactionSql, tokenHash: string, now: Date): Promise<string | null> {
  const [token] = await tx<{ user_id: string }[]>`
    update app.password_reset_tokens t
    set used_at = ${now}
    from app.users u
    where t.token_hash = ${tokenHash}
      and t.used_at is null
      and t.expires_at > ${now}
      and u.id = t.user_id
      and u.disabled_at is null
    returning t.user_id
  `
  return token?.user_id ?? null
}

/** A reset spends every other link mailed to the user: reset links, and sign-in links the old password earned. */
export async function spendEmailedLinks(tx: TransactionSql, userId: string, now: Date): Promise<void> {
  await tx`update app.password_reset_tokens set used_at = ${now} where user_id = ${userId} and used_at is null`
  await tx`update app.login_link_tokens set used_at = ${now} where user_id = ${userId} and used_at is null`
}

export interface Removed {
  workspaces: number
  runs: number
  grades: number
  exports: number
}

/**
 * Deletes the account and everything of it: the workspaces (and through them traffic profiles,
 * runs, grades and exports), then the user row, whose foreign keys cascade to refresh tokens,
 * verification, reset and sign-in-link tokens, known devices, idempotency keys and the counters.
 * Login lockouts and the development outbox are keyed by the address, so they go by it. What
 * went, counted (no personal data); none when there was no account.
 */
export async function deleteAccount(tx: TransactionSql, userId: string): Promise<Removed | null> {
  const [removed] = await tx<Removed[]>`
    select
      (select count(*) from app.workspaces where owner_id = u.id)::int as workspaces,
      (select count(*) from app.simulation_runs where owner_id = u.id)::int as runs,
      (select count(*) from app.grade_reports where owner_id = u.id)::int as grades,
      (select count(*) from app.report_exports where owner_id = u.id)::int as exports
    from app.users u
    where u.id = ${userId}
    for update of u
  `
  if (!removed) return null
  // Workspaces first, with their runs, grades and exports, while the account is there: the
  // storage triggers subtract what they held from the account's own total row.
  await tx`delete from app.workspaces where owner_id = ${userId}`
  await tx`
    with gone as (
      delete from app.users
      where id = ${userId}
      returning email, email_normalized
    ), lockouts as (
      delete from app.login_lockouts l
      using gone
      where l.email_normalized = gone.email_normalized
    )
    delete from app.email_outbox o
    using gone
    where o.to_address = gone.email
  `
  return removed
}

export function workspacePage(sql: Sql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<WorkspaceRow>[]>`
    select *, created_at::text as key_at
    from app.workspaces
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}

export function trafficOf(sql: Sql, workspaceIds: string[]) {
  return sql<TrafficRow[]>`
    select *
    from app.traffic_profiles
    where workspace_id = any(${workspaceIds}::uuid[])
  `
}

export interface ExportRow {
  id: string
  workspace_id: string
  format: 'markdown' | 'json' | 'html'
  status: 'queued' | 'running' | 'completed' | 'failed'
  filename: string | null
  content_type: string | null
  error: string | null
  created_at: Date
  completed_at: Date | null
}

/** The reports' descriptions, not their content (a report is rendered from the runs the archive carries). */
export function exportPage(sql: Sql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<ExportRow>[]>`
    select id, workspace_id, format, status, filename, content_type, error, created_at, completed_at,
           created_at::text as key_at
    from app.report_exports
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}
