import type { Fragment, Sql } from './client.ts'

/**
 * `left join lateral (…) on true`: the latest completed grade of the run whose id the outer
 * query's column `runId` holds (`s.id`), as `grade_id`, `grade_score` and `grade_items`, or nulls
 * when it has none. (Postgres drops the columns the outer query does not read.)
 */
export const latestGradeJoin = (sql: Sql, runId: string): Fragment => sql`
  left join lateral (
    select id as grade_id, score as grade_score, items as grade_items
    from app.grade_reports
    where simulation_id = ${sql(runId)}
      and status = 'completed'
    order by completed_at desc
    limit 1
  ) latest_grade on true
`
