import type { Sql } from '../../db/client.ts'
import type { DesignDocument, TrafficProfile } from '../../domain/schemas.ts'

// The progress page's reads: a learner's attempts with their best grades, and their predictions.

export interface AttemptRow {
  exercise_slug: string
  attempts: number
  hints_used: number
  best_score: number | null
  best_checks: { passed: boolean }[] | null
  last_at: Date
}

/** Per exercise the learner attempted: attempts, hints revealed, the best grade's score and checks. */
export function attemptsOf(sql: Sql, ownerId: string) {
  return sql<AttemptRow[]>`
    select a.exercise_slug,
      count(distinct a.workspace_id)::int as attempts,
      sum(a.hints_revealed)::int as hints_used,
      max(best.score) as best_score,
      (array_agg(best.checks order by best.score desc nulls last))[1] as best_checks,
      max(a.created_at) as last_at
    from app.exercise_attempts a
    left join lateral (
      select g.score, g.checks
      from app.grade_reports g
      join app.simulation_runs s on s.id = g.simulation_id
      where s.workspace_id = a.workspace_id
        and g.status = 'completed'
      order by g.score desc
      limit 1
    ) best on true
    where a.owner_id = ${ownerId}
    group by a.exercise_slug
    order by last_at desc
  `
}

export interface PredictedRun {
  id: string
  workspace_id: string
  created_at: Date
  design: DesignDocument
  traffic: TrafficProfile
  predictions: unknown
  overall: unknown
}

/** The learner's completed runs that carried predictions, oldest first (the latest `limit`). */
export function predictedRuns(sql: Sql, ownerId: string, limit: number) {
  return sql<PredictedRun[]>`
    select * from (
      select id, workspace_id, created_at, design, traffic, predictions, result -> 'overall' as overall
      from app.simulation_runs
      where owner_id = ${ownerId}
        and predictions is not null
        and status = 'completed'
      order by created_at desc
      limit ${limit}
    ) latest
    order by created_at
  `
}
