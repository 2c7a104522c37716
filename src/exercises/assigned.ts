import type { Sql } from '../db/client.ts'
import { withContext } from '../db/context.ts'
import type { Requirements } from '../domain/exercise-schemas.ts'

// An exercise as a class assignment holds it (issue 40): read under the attempt owner's context,
// as the exercise routes and the grading job need it (the assignments are under row-level security).

/** Whether hints are off for the attempt a workspace is (an assignment's that forbids them). */
export async function hintsForbidden(sql: Sql, userId: string, workspaceId: string): Promise<boolean> {
  const rows = await withContext(
    sql,
    { userId },
    (tx) => tx`
      select 1
      from app.assignment_attempts t
      join app.assignments a on a.organisation_id = t.organisation_id and a.id = t.assignment_id
      where t.workspace_id = ${workspaceId}
        and not a.hints_allowed
    `
  )
  return rows.length > 0
}

/** The requirements an attempt is held to when it belongs to an assignment (rescaled), read as its owner. */
export async function assignedRequirements(
  sql: Sql,
  ownerId: string,
  workspaceId: string
): Promise<Requirements | undefined> {
  const [row] = await withContext(
    sql,
    { userId: ownerId },
    (tx) => tx<{ requirements: Requirements | null }[]>`
      select a.requirements
      from app.assignment_attempts t
      join app.assignments a on a.organisation_id = t.organisation_id and a.id = t.assignment_id
      where t.workspace_id = ${workspaceId}
    `
  )
  return row?.requirements ?? undefined
}
