import type { Sql, TransactionSql } from '../../db/client.ts'
import { bestGradeJoin } from '../../runs/grades.ts'

// The progress page's reads: a learner's attempts with their best grades (its predictions are
// src/runs' predictedRuns).

export interface AttemptRow {
  exercise_slug: string
  attempts: number
  hints_used: number
  best_score: number | null
  best_checks: { passed: boolean }[] | null
  last_at: Date
}

/** Per exercise the learner attempted: attempts, hints revealed, the best grade's score and checks. */
export function attemptsOf(sql: Sql | TransactionSql, ownerId: string) {
  return sql<AttemptRow[]>`
    select a.exercise_slug,
      count(distinct a.workspace_id)::int as attempts,
      sum(a.hints_revealed)::int as hints_used,
      max(best.score) as best_score,
      (array_agg(best.checks order by best.score desc nulls last))[1] as best_checks,
      max(a.created_at) as last_at
    from app.exercise_attempts a
    ${bestGradeJoin(sql, 'a.workspace_id')}
    where a.owner_id = ${ownerId}
    group by a.exercise_slug
    order by last_at desc
  `
}
