import type { Fragment, Sql, TransactionSql } from '../../db/client.ts'
import type { TrafficProfile } from '../../domain/model.ts'
import { bestGradeJoin, hasCompletedGrade } from '../../runs/grades.ts'

// The exercise routes' statements: attempts (a workspace tied to an exercise), the hints they
// revealed, their submissions and give-ups. A write takes the request's audit fragment.

export interface AttemptRow {
  workspace_id: string
  owner_id: string
  exercise_slug: string
  locked_traffic: Required<TrafficProfile>
  hints_revealed: number
  hint_points: number
  given_up_at: Date | null
  created_at: Date
}

export interface SubmissionRow {
  id: string
  workspace_id: string
  exercise_slug: string
  simulation_id: string
  grade_id: string
  hint_points: number
  submitted_at: Date
}

export const toSubmission = (s: SubmissionRow) => ({
  id: s.id,
  workspaceId: s.workspace_id,
  exerciseSlug: s.exercise_slug,
  simulationId: s.simulation_id,
  gradeId: s.grade_id,
  hintPoints: s.hint_points,
  submittedAt: s.submitted_at.toISOString()
})

/** The caller's attempts of each exercise, and the best completed grade of their runs. */
export function attemptTotals(sql: Sql | TransactionSql, ownerId: string) {
  return sql<{ exercise_slug: string; attempts: number; best: number | null }[]>`
    select a.exercise_slug, count(distinct a.workspace_id)::int as attempts, max(best.score) as best
    from app.exercise_attempts a
    ${bestGradeJoin(sql, 'a.workspace_id')}
    where a.owner_id = ${ownerId}
    group by a.exercise_slug
  `
}

/** The attempt row the workspace's creation goes with (its audit row is the workspace's). */
export function insertAttempt(
  tx: TransactionSql,
  a: { workspaceId: string; ownerId: string; slug: string; traffic: Required<TrafficProfile> }
) {
  return tx<AttemptRow[]>`
    insert into app.exercise_attempts ${tx({
      workspace_id: a.workspaceId,
      owner_id: a.ownerId,
      exercise_slug: a.slug,
      locked_traffic: a.traffic as never
    })}
    returning *
  `
}

/** The caller's attempt, or undefined: another user's, or a workspace that is no attempt. */
export async function ownedAttempt(
  sql: Sql | TransactionSql,
  workspaceId: string,
  ownerId: string,
  forUpdate = false
): Promise<AttemptRow | undefined> {
  const [row] = await sql<AttemptRow[]>`
    select *
    from app.exercise_attempts
    where workspace_id = ${workspaceId}
      and owner_id = ${ownerId}
    ${forUpdate ? sql`for update` : sql``}
  `
  return row
}

/** The traffic an attempt's workspace is held to, or undefined when the workspace is no attempt. */
export async function lockedTraffic(
  tx: TransactionSql,
  workspaceId: string,
  ownerId: string
): Promise<Required<TrafficProfile> | undefined> {
  const [row] = await tx<{ locked_traffic: Required<TrafficProfile> }[]>`
    select locked_traffic
    from app.exercise_attempts
    where workspace_id = ${workspaceId}
      and owner_id = ${ownerId}
  `
  return row?.locked_traffic
}

/** The caller's attempts of one exercise, newest first, with their hints, best grade and submissions. */
export async function listAttempts(sql: Sql | TransactionSql, ownerId: string, slug: string) {
  const rows = await sql<(AttemptRow & { best: number | null })[]>`
    select a.*, best.score as best
    from app.exercise_attempts a
    ${bestGradeJoin(sql, 'a.workspace_id')}
    where a.owner_id = ${ownerId}
      and a.exercise_slug = ${slug}
    order by a.created_at desc
    limit 100
  `
  const ids = rows.map((r) => r.workspace_id)
  const [hints, submissions] = await Promise.all([
    sql<{ workspace_id: string; level: number; points: number; revealed_at: Date }[]>`
      select workspace_id, level, points, revealed_at
      from app.exercise_hints
      where workspace_id = any(${ids}::uuid[])
      order by level
    `,
    sql<SubmissionRow[]>`
      select id, workspace_id, exercise_slug, simulation_id, grade_id, hint_points, submitted_at
      from app.exercise_submissions
      where workspace_id = any(${ids}::uuid[])
      order by submitted_at desc
    `
  ])
  return rows.map((r) => ({
    ...r,
    hints: hints.filter((h) => h.workspace_id === r.workspace_id),
    submissions: submissions.filter((s) => s.workspace_id === r.workspace_id)
  }))
}

/** Records the next hint level and its cost; no row when another request revealed it first. */
export async function revealHint(
  tx: TransactionSql,
  audit: Fragment,
  a: { workspaceId: string; level: number; points: number }
) {
  const [row] = await tx<{ revealed_at: Date }[]>`
    with audit_row as (${audit}),
    attempt as (
      update app.exercise_attempts
      set hints_revealed = ${a.level}, hint_points = hint_points + ${a.points}
      where workspace_id = ${a.workspaceId}
        and hints_revealed = ${a.level - 1}
      returning workspace_id
    )
    insert into app.exercise_hints (workspace_id, level, points)
    select workspace_id, ${a.level}, ${a.points} from attempt
    returning revealed_at
  `
  return row
}

export async function insertSubmission(
  tx: TransactionSql,
  audit: Fragment,
  s: {
    id: string
    workspaceId: string
    ownerId: string
    slug: string
    simulationId: string
    gradeId: string
    hintPoints: number
  }
): Promise<SubmissionRow> {
  const [row] = await tx<SubmissionRow[]>`
    with audit_row as (${audit})
    insert into app.exercise_submissions ${tx({
      id: s.id,
      workspace_id: s.workspaceId,
      owner_id: s.ownerId,
      exercise_slug: s.slug,
      simulation_id: s.simulationId,
      grade_id: s.gradeId,
      hint_points: s.hintPoints
    })}
    returning id, workspace_id, exercise_slug, simulation_id, grade_id, hint_points, submitted_at
  `
  return row
}

/** Records the give-up (the first one stands). */
export async function giveUp(tx: TransactionSql, audit: Fragment, workspaceId: string): Promise<Date> {
  const [row] = await tx<{ given_up_at: Date }[]>`
    with audit_row as (${audit})
    update app.exercise_attempts
    set given_up_at = coalesce(given_up_at, now())
    where workspace_id = ${workspaceId}
    returning given_up_at
  `
  return row.given_up_at
}

/** The caller may see the reference: a completed grade of one of their attempts, or a give-up. */
export async function mayseeReference(sql: Sql | TransactionSql, ownerId: string, slug: string): Promise<boolean> {
  const [row] = await sql<{ allowed: boolean }[]>`
    select exists (
      select 1
      from app.exercise_attempts a
      where a.owner_id = ${ownerId}
        and a.exercise_slug = ${slug}
        and (
          a.given_up_at is not null
          or ${hasCompletedGrade(sql, 'a.workspace_id')}
        )
    ) as allowed
  `
  return row.allowed
}
