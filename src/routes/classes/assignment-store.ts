import { userNameJoin } from '../../accounts/users.ts'
import type { Fragment, TransactionSql } from '../../db/client.ts'
import type { Requirements } from '../../domain/exercise-schemas.ts'
import { latestSubmissionJoin, submissionsJoin } from '../../runs/grades.ts'

// Assignments' statements, under the caller's context (the policies of migration 0032 decide).

export interface AssignmentRow {
  id: string
  organisation_id: string
  class_id: string
  exercise_slug: string
  title: string
  opens_at: Date
  due_at: Date
  hints_allowed: boolean
  scale: string
  requirements: Requirements
  created_at: Date
  class_role: 'instructor' | 'learner' | null
  organisation_role: 'owner' | 'instructor' | null
}

const columns = (tx: TransactionSql) => tx`
  a.id, a.organisation_id, a.class_id, a.exercise_slug, a.title, a.opens_at, a.due_at, a.hints_allowed,
  a.scale::text as scale, a.requirements, a.created_at,
  app.class_role(a.organisation_id, a.class_id) as class_role,
  app.organisation_role(a.organisation_id) as organisation_role
`

export async function insertAssignment(
  tx: TransactionSql,
  audit: Fragment,
  a: Omit<AssignmentRow, 'created_at' | 'class_role' | 'organisation_role' | 'scale'> & {
    scale: number
    createdBy: string
  }
): Promise<void> {
  await tx`
    with audit_row as (${audit})
    insert into app.assignments
      (organisation_id, class_id, id, exercise_slug, title, opens_at, due_at, hints_allowed, scale, requirements, created_by)
    values
      (${a.organisation_id}, ${a.class_id}, ${a.id}, ${a.exercise_slug}, ${a.title}, ${a.opens_at}, ${a.due_at},
       ${a.hints_allowed}, ${a.scale}, ${tx.json(a.requirements as never)}, ${a.createdBy})
  `
}

export async function assignmentById(tx: TransactionSql, id: string): Promise<AssignmentRow | undefined> {
  const [row] = await tx<AssignmentRow[]>`select ${columns(tx)} from app.assignments a where a.id = ${id}`
  return row
}

export interface ClassAssignmentRow extends AssignmentRow {
  workspace_id: string | null
  started_at: Date | null
  submitted_at: Date | null
  best: number | null
}

/** A class's assignments, each with the caller's own attempt (if any), its first submission and best score. */
export function classAssignments(tx: TransactionSql, organisationId: string, classId: string, userId: string) {
  return tx<ClassAssignmentRow[]>`
    select ${columns(tx)}, t.workspace_id, t.started_at, submissions.submitted_at, submissions.best
    from app.assignments a
    left join app.assignment_attempts t
      on t.organisation_id = a.organisation_id and t.assignment_id = a.id and t.user_id = ${userId}
    ${submissionsJoin(tx, 't.workspace_id')}
    where a.organisation_id = ${organisationId}
      and a.class_id = ${classId}
    order by a.due_at, a.id
  `
}

export function linkAttempt(
  tx: TransactionSql,
  a: { organisationId: string; assignmentId: string; userId: string; workspaceId: string }
) {
  return tx`
    insert into app.assignment_attempts (organisation_id, assignment_id, user_id, workspace_id)
    values (${a.organisationId}, ${a.assignmentId}, ${a.userId}, ${a.workspaceId})
  `
}

export async function attemptOf(tx: TransactionSql, organisationId: string, assignmentId: string, userId: string) {
  const [row] = await tx<{ workspace_id: string }[]>`
    select workspace_id from app.assignment_attempts
    where organisation_id = ${organisationId} and assignment_id = ${assignmentId} and user_id = ${userId}
  `
  return row?.workspace_id
}

export interface ResultRow {
  user_id: string
  display_name: string
  email: string
  workspace_id: string | null
  started_at: Date | null
  submitted_at: Date | null
  score: number | null
  checks: { id: string; title: string; passed: boolean }[] | null
  bottleneck: string | null
}

/**
 * Every learner of the assignment's class with their attempt: started, first submission, and the
 * grade of their latest submission (its score, checks and the bottleneck of its run). The
 * instructor reads the learners' workspaces, runs and grades through the policies of 0032.
 */
export function assignmentResults(tx: TransactionSql, a: { organisation_id: string; class_id: string; id: string }) {
  return tx<ResultRow[]>`
    select m.user_id, u.display_name, u.email, t.workspace_id, t.started_at, first.submitted_at,
           latest.score, latest.checks, latest.bottleneck
    from app.class_members m
    ${userNameJoin(tx, 'm.user_id')}
    left join app.assignment_attempts t
      on t.organisation_id = m.organisation_id and t.assignment_id = ${a.id} and t.user_id = m.user_id
    left join lateral (
      select min(x.submitted_at) as submitted_at from app.exercise_submissions x where x.workspace_id = t.workspace_id
    ) first on true
    ${latestSubmissionJoin(tx, 't.workspace_id')}
    where m.organisation_id = ${a.organisation_id}
      and m.class_id = ${a.class_id}
      and m.role = 'learner'
    order by u.display_name, m.user_id
  `
}
