import type { Fragment, Sql, TransactionSql } from '../db/client.ts'
import { completedOnce, failedUnlessCompleted } from '../db/work-rows.ts'

// The statements on app.grade_reports: a run's grades, and the fragments other areas' queries
// join them by (a run's latest grade, a workspace's best, its exercise submissions' grades).

/**
 * `left join lateral (…) on true`: the latest completed grade of the run whose id the outer
 * query's column `runId` holds (`s.id`), as `grade_id`, `grade_score`, `grade_items` and
 * `grade_checks`, or nulls when it has none. (Postgres drops the columns the outer query does not read.)
 */
export const latestGradeJoin = (sql: Sql | TransactionSql, runId: string): Fragment => sql`
  left join lateral (
    select id as grade_id, score as grade_score, items as grade_items, checks as grade_checks
    from app.grade_reports
    where simulation_id = ${sql(runId)}
      and status = 'completed'
    order by completed_at desc
    limit 1
  ) latest_grade on true
`

/**
 * `left join lateral (…) best on true`: the best completed grade of the runs of the workspace whose
 * id the outer query's column `workspaceId` holds (`a.workspace_id`), as `best.score` and
 * `best.checks`, or nulls when none is graded.
 */
export const bestGradeJoin = (sql: Sql | TransactionSql, workspaceId: string): Fragment => sql`
  left join lateral (
    select g.score, g.checks
    from app.grade_reports g
    join app.simulation_runs s on s.id = g.simulation_id
    where s.workspace_id = ${sql(workspaceId)}
      and g.status = 'completed'
    order by g.score desc nulls last
    limit 1
  ) best on true
`

/** `exists (…)`: whether a run of the workspace in the outer query's column `workspaceId` has a completed grade. */
export const hasCompletedGrade = (sql: Sql | TransactionSql, workspaceId: string): Fragment => sql`
  exists (
    select 1
    from app.simulation_runs s
    join app.grade_reports g on g.simulation_id = s.id
    where s.workspace_id = ${sql(workspaceId)}
      and g.status = 'completed'
  )
`

/**
 * `left join lateral (…) submissions on true`: the exercise submissions of the workspace whose id
 * the outer query's column `workspaceId` holds (`t.workspace_id`), as `submissions.submitted_at`
 * (the first) and `submissions.best` (the best score of their grades), or nulls when there is none.
 */
export const submissionsJoin = (sql: Sql | TransactionSql, workspaceId: string): Fragment => sql`
  left join lateral (
    select min(x.submitted_at) as submitted_at, max(g.score) as best
    from app.exercise_submissions x
    join app.grade_reports g on g.id = x.grade_id
    where x.workspace_id = ${sql(workspaceId)}
  ) submissions on true
`

/**
 * `left join lateral (…) latest on true`: the grade of the latest exercise submission of the
 * workspace whose id the outer query's column `workspaceId` holds (`t.workspace_id`), as
 * `latest.score`, `latest.checks` and `latest.bottleneck` (its run's), or nulls when there is none.
 */
export const latestSubmissionJoin = (sql: Sql | TransactionSql, workspaceId: string): Fragment => sql`
  left join lateral (
    select g.score, g.checks, r.result -> 'overall' ->> 'bottleneck' as bottleneck
    from app.exercise_submissions x
    join app.grade_reports g on g.id = x.grade_id
    join app.simulation_runs r on r.id = x.simulation_id
    where x.workspace_id = ${sql(workspaceId)}
    order by x.submitted_at desc
    limit 1
  ) latest on true
`

export function insertGrade(
  tx: TransactionSql,
  audit: Fragment,
  grade: { id: string; simulationId: string; ownerId: string }
) {
  return tx`with audit_row as (${audit}) insert into app.grade_reports ${tx({ id: grade.id, simulation_id: grade.simulationId, owner_id: grade.ownerId })}`
}

/** The grade an exercise submission asks for (unaudited: the submission's audit row names it). */
export function insertSubmissionGrade(tx: TransactionSql, g: { id: string; simulationId: string; ownerId: string }) {
  return tx`insert into app.grade_reports ${tx({ id: g.id, simulation_id: g.simulationId, owner_id: g.ownerId })}`
}

/** A grade, with what its run ran with (to tell whether it is stale). */
export async function ownedGrade(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const [row] = await sql`
    select g.id, g.simulation_id, g.status, g.score, g.items, g.checks, g.hint_points, g.rubric_version, g.error,
      g.created_at, g.completed_at, s.workspace_id, s.design, s.traffic, s.predictions, s.result -> 'overall' as overall,
      case when s.result is null then null
      else jsonb_strip_nulls(jsonb_build_object('modelVersion', s.result -> 'modelVersion')) end as model
    from app.grade_reports g
    join app.simulation_runs s on s.id = g.simulation_id
    where g.id = ${id}
      and g.owner_id = ${ownerId}
  `
  return row
}

export interface GradeRow {
  id: string
  simulation_id: string
  status: 'queued' | 'running' | 'completed' | 'failed'
  score: number | null
  items: unknown
  checks: unknown
  hint_points: number | null
  rubric_version: number | null
  error: string | null
  created_at: Date
  completed_at: Date | null
}

/** `(select count(*) …)::int`: how many grades the user has, as a column of the caller's query. */
export const gradeCountOf = (sql: Sql | TransactionSql, ownerId: string): Fragment =>
  sql`(select count(*) from app.grade_reports where owner_id = ${ownerId})::int`

/** The grades of these runs, oldest first (through the grades' run index). */
export function gradesOf(sql: Sql | TransactionSql, runIds: string[]) {
  return sql<GradeRow[]>`
    select id, simulation_id, status, score, items, checks, hint_points, rubric_version, error, created_at, completed_at
    from app.grade_reports
    where simulation_id = any(${runIds}::uuid[])
    order by created_at, id
  `
}

/** Stores a grade once: a retried or duplicated job finds it completed and writes nothing. */
export async function completeGrade(
  sql: Sql | TransactionSql,
  gradeId: string,
  grade: { score: number; items: unknown; rubricVersion: number; checks?: unknown; hintPoints?: number | null }
): Promise<boolean> {
  const stored = await sql`
    update app.grade_reports
    set score = ${grade.score}, items = ${sql.json(grade.items as never)},
      checks = ${grade.checks == null ? null : sql.json(grade.checks as never)}, hint_points = ${grade.hintPoints ?? null},
      rubric_version = ${grade.rubricVersion}, ${completedOnce(sql, gradeId)}
  `
  return stored.length === 1
}

/** Marks a grade failed with the error, unless it completed meanwhile. */
export async function failGrade(sql: Sql | TransactionSql, id: string, error: string): Promise<void> {
  await sql`update app.grade_reports ${failedUnlessCompleted(sql, id, error)}`
}
