import type { Sql, TransactionSql } from '../../db/client.ts'
import { afterKey, type Keyset, type Paged } from '../../db/keyset.ts'
import type { TrafficRow, WorkspaceRow } from '../workspaces/store.ts'

// The account routes' statements: password-reset tokens and the workspace pages of the data export
// (the account's own row, and deleting it, are in src/accounts/users.ts; the runs', grades' and
// exports' pages in src/runs/ and src/exports/).

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
