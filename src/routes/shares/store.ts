import { createHash } from 'node:crypto'
import type { Fragment, Sql, TransactionSql } from '../../db/client.ts'
import { hasCompletedGrade } from '../../runs/grades.ts'
import type { ProfileColumns, WorkspaceRow } from '../../workspaces/store.ts'

// The share routes' statements. A link is found by its token's SHA-256 only; a write takes the
// request's audit row (request.audit) in front of its own statement, so the change and its audit
// row are one statement.

export const hashShareToken = (token: string): string => createHash('sha256').update(token).digest('hex')

/** Revokes the workspace's live links (with `audit`'s row, if given); how many there were. */
export async function revokeShares(tx: TransactionSql, workspaceId: string, audit?: Fragment): Promise<number> {
  const rows = await tx`
    ${audit ? tx`with audit_row as (${audit})` : tx``}
    update app.workspace_shares
    set revoked_at = now()
    where workspace_id = ${workspaceId}
      and revoked_at is null
      and expires_at > now()
    returning id
  `
  return rows.length
}

export async function insertShare(
  tx: TransactionSql,
  audit: Fragment,
  share: { id: string; workspaceId: string; ownerId: string; token: string; expiresAt: Date }
): Promise<{ created_at: Date; expires_at: Date }> {
  const [row] = await tx<{ created_at: Date; expires_at: Date }[]>`
    with audit_row as (${audit})
    insert into app.workspace_shares ${tx({
      id: share.id,
      workspace_id: share.workspaceId,
      owner_id: share.ownerId,
      token_hash: hashShareToken(share.token),
      expires_at: share.expiresAt
    })}
    returning created_at, expires_at
  `
  return row
}

export async function liveShare(sql: Sql | TransactionSql, workspaceId: string) {
  const [row] = await sql<{ created_at: Date; expires_at: Date }[]>`
    select created_at, expires_at
    from app.workspace_shares
    where workspace_id = ${workspaceId}
      and revoked_at is null
      and expires_at > now()
    order by created_at desc
    limit 1
  `
  return row
}

/**
 * The workspace a live link shows, with its traffic profile; none when unknown, revoked or expired.
 * Read without a session through app.shared_workspace (migration 0035), a SECURITY DEFINER
 * function keyed by the token's hash: the policies admit no one's workspace without a user.
 */
export async function sharedWorkspace(sql: Sql | TransactionSql, token: string) {
  const tokenHash = hashShareToken(token)
  const [row] = await sql<(WorkspaceRow & ProfileColumns & { expires_at: Date })[]>`
    select w.*, s.expires_at,
           t.peak_rps, t.read_ratio, t.payload_kb, t.latency_slo_ms, t.budget_per_month, t.availability_target,
           t.arrival_cv
    from app.shared_workspace(${tokenHash}) w
    join app.workspace_shares s on s.workspace_id = w.id and s.token_hash = ${tokenHash}
    join app.traffic_profiles t on t.workspace_id = w.id
  `
  return row
}

/** The shared workspace's latest completed run and its latest completed grade, if any (through the definer functions). */
export async function sharedLatestRun(sql: Sql, token: string) {
  const tokenHash = hashShareToken(token)
  const [row] = await sql<
    { created_at: Date; result: unknown; grade_score: number | null; grade_items: unknown[] | null }[]
  >`
    select r.created_at, r.result, g.score as grade_score, g.items as grade_items
    from app.shared_latest_run(${tokenHash}) r
    left join app.shared_latest_grade(${tokenHash}) g on true
  `
  return row
}

/**
 * Why this workspace may not be shared, if it may not. A class assignment's attempt never is:
 * answers must not travel between learners of an assignment. An exercise attempt only once its
 * exercise's reference is revealed to the sharer (a completed grade of one of their attempts at it,
 * or a give-up, as GET /exercises/:slug reveals it): before that a link would hand out a worked
 * answer. Run in a transaction acting for the sharer (setContext), which the assignments' row-level
 * security needs to show the sharer's own attempt.
 */
export async function shareRefusal(tx: TransactionSql, workspaceId: string, ownerId: string): Promise<string | null> {
  const [row] = await tx<{ assignment: boolean; exercise_slug: string | null; revealed: boolean }[]>`
    select
      exists (select 1 from app.assignment_attempts where workspace_id = ${workspaceId}) as assignment,
      a.exercise_slug,
      exists (
        select 1
        from app.exercise_attempts mine
        where mine.owner_id = ${ownerId}
          and mine.exercise_slug = a.exercise_slug
          and (
            mine.given_up_at is not null
            or ${hasCompletedGrade(tx, 'mine.workspace_id')}
          )
      ) as revealed
    from (select 1) one
    left join app.exercise_attempts a on a.workspace_id = ${workspaceId}
  `
  if (row.assignment)
    return 'An attempt at a class assignment is never shared: answers must not travel between the learners of an assignment'
  if (row.exercise_slug === null || row.revealed) return null
  return `An attempt at the exercise “${row.exercise_slug}” can be shared once its reference solution is revealed to you (after a graded attempt, or giving up)`
}
