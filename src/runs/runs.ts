import { type Fragment, pgArray, type Sql, type TransactionSql } from '../db/client.ts'
import { afterKey, type Keyset, type Paged } from '../db/keyset.ts'
import { failedUnlessCompleted } from '../db/work-rows.ts'
import type { SimulationResult } from '../domain/engine.ts'
import type { Design, TrafficProfile } from '../domain/model.ts'
import type { Analysis, DesignDocument } from '../domain/schemas.ts'
import { latestGradeJoin } from './grades.ts'

// Every statement on app.simulation_runs (and its counter, app.user_run_counts): the routes', the
// jobs', the quotas', the data export's and retention's.

export interface RunRow {
  id: string
  workspace_id: string
  status: 'queued' | 'running' | 'completed' | 'failed'
  seed: number
  error: string | null
  created_at: Date
  started_at: Date | null
  completed_at: Date | null
}

export const RUN_COLUMNS = ['id', 'workspace_id', 'status', 'seed', 'error', 'created_at', 'started_at', 'completed_at']

export const runFieldsOf = (r: RunRow) => ({
  id: r.id,
  workspaceId: r.workspace_id,
  status: r.status,
  seed: r.seed,
  error: r.error,
  createdAt: r.created_at.toISOString(),
  startedAt: r.started_at?.toISOString() ?? null,
  completedAt: r.completed_at?.toISOString() ?? null
})

/** What a run ran with, to tell whether it is stale (src/domain/staleness.ts). */
export interface RunInputs {
  workspace_id: string
  design: DesignDocument
  traffic: TrafficProfile
  /** `{ modelVersion }` of its result, null without one. */
  model: { modelVersion?: number } | null
}

/** The result's model version as `{ modelVersion }` (null without a result). */
export const modelOf = (sql: Sql | TransactionSql, result = 'result') => sql`
  case when ${sql(result)} is null then null
  else jsonb_strip_nulls(jsonb_build_object('modelVersion', ${sql(result)} -> 'modelVersion')) end
`

/** A page of a workspace's runs, newest first, with their overall figures; one row more than `limit`. */
export function listRuns(sql: Sql | TransactionSql, workspaceId: string, after: Fragment, limit: number) {
  return sql<(RunRow & RunInputs & { overall: unknown; grade_id: string | null; grade_score: number | null })[]>`
    select ${sql(RUN_COLUMNS)}, result -> 'overall' as overall, grade_id, grade_score, design, traffic,
      ${modelOf(sql)} as model
    from app.simulation_runs
    ${latestGradeJoin(sql, 'simulation_runs.id')}
    where workspace_id = ${workspaceId}
      ${after}
    order by created_at desc, id desc
    limit ${limit + 1}
  `
}

export async function ownedRun(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const [row] = await sql<(RunRow & RunInputs & { result: unknown; predictions: unknown })[]>`
    select ${sql(RUN_COLUMNS)}, result, design, traffic, predictions, ${modelOf(sql)} as model
    from app.simulation_runs
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

export async function ownedRunStatus(tx: TransactionSql, id: string, ownerId: string): Promise<string | null> {
  const [run] = await tx<{ status: string }[]>`
    select status from app.simulation_runs where id = ${id} and owner_id = ${ownerId}
  `
  return run?.status ?? null
}

/** The run the enqueue route writes, with its design and traffic snapshot, after `audit`. */
export function insertRun(
  tx: TransactionSql,
  audit: Fragment,
  run: {
    id: string
    workspaceId: string
    ownerId: string
    design: unknown
    traffic: unknown
    seed: number
    requestId: string
    predictions?: unknown
  }
) {
  return tx`
    with audit_row as (${audit})
    insert into app.simulation_runs ${tx({
      predictions: (run.predictions ?? null) as never,
      id: run.id,
      workspace_id: run.workspaceId,
      owner_id: run.ownerId,
      design: run.design as never,
      traffic: run.traffic as never,
      seed: run.seed,
      request_id: run.requestId
    })}
  `
}

export function runPage(sql: Sql | TransactionSql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<RunRow & { design: unknown; traffic: unknown; result: unknown; predictions: unknown }>[]>`
    select ${sql(RUN_COLUMNS)}, design, traffic, result, predictions, created_at::text as key_at
    from app.simulation_runs
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}

/** Runs queued or running and runs in the last 24 hours (each count stops at its limit), and runs stored. */
export async function runCounts(tx: TransactionSql, ownerId: string, limits: { active: number; perDay: number }) {
  // Each count reads an index range and stops at its limit; the stored runs are counted by the
  // table's triggers (app.user_run_counts), so no count grows with a user's history.
  const [row] = await tx<{ active: number; today: number; stored: number; oldest: Date | null }[]>`
    select
      (select count(*)::int from (select 1 from app.simulation_runs
        where owner_id = ${ownerId} and status in ('queued', 'running') limit ${limits.active}) a) as active,
      (select count(*)::int from (select 1 from app.simulation_runs
        where owner_id = ${ownerId} and created_at > now() - interval '1 day' limit ${limits.perDay}) d) as today,
      coalesce((select stored from app.user_run_counts where owner_id = ${ownerId}), 0) as stored,
      (select min(created_at) from app.simulation_runs
        where owner_id = ${ownerId} and created_at > now() - interval '1 day') as oldest
  `
  return row
}

/** A run as the simulation job reads it. */
export interface ClaimedRun {
  id: string
  status: string
  design: Design
  traffic: TrafficProfile
  seed: number
  /** The exercise, when the run's workspace is an attempt: its checks are measured with the run. */
  exercise_slug: string | null
}

/** Marks these runs running (a retry claims a running one again); those that were queued or running, in order. */
export async function claimRuns(sql: Sql | TransactionSql, ids: string[]): Promise<(ClaimedRun | null)[]> {
  const rows = await sql<ClaimedRun[]>`
    update app.simulation_runs
    set status = 'running', started_at = coalesce(started_at, now()), attempts = attempts + 1
    where id = any(${pgArray(ids)}::uuid[])
      and status in ('queued', 'running')
    returning id, status, design, traffic, seed,
      (select a.exercise_slug from app.exercise_attempts a where a.workspace_id = simulation_runs.workspace_id)
  `
  const byId = new Map(rows.map((row) => [row.id, row]))
  return ids.map((id) => byId.get(id) ?? null)
}

/**
 * Stores results exactly once: a retried or duplicated job finds its run completed and writes
 * nothing. Whether each was stored, in order (a run given twice is stored once).
 */
export async function completeRuns(
  sql: Sql | TransactionSql,
  results: { id: string; result: SimulationResult }[]
): Promise<boolean[]> {
  const rows = await sql<{ id: string }[]>`
    update app.simulation_runs r
    set status = 'completed', result = v.result, completed_at = now(), error = null
    from jsonb_to_recordset(${sql.json(results as never)}) as v(id uuid, result jsonb)
    where r.id = v.id
      and r.status <> 'completed'
    returning r.id
  `
  const stored = new Set(rows.map((row) => row.id))
  return results.map(({ id }) => stored.delete(id))
}

/** Marks a run failed with the error, unless it completed meanwhile. */
export async function failRun(sql: Sql | TransactionSql, id: string, error: string): Promise<void> {
  await sql`update app.simulation_runs ${failedUnlessCompleted(sql, id, error)}`
}

/** `(select count(*) …)::int`: how many runs the user has, as a column of the caller's query. */
export const runCountOf = (sql: Sql | TransactionSql, ownerId: string): Fragment =>
  sql`(select count(*) from app.simulation_runs where owner_id = ${ownerId})::int`

/** A run's status, or null when it is gone (deleted with its workspace). */
export async function runStatus(sql: Sql | TransactionSql, id: string): Promise<string | null> {
  const [run] = await sql<{ status: string }[]>`select status from app.simulation_runs where id = ${id}`
  return run?.status ?? null
}

/** The workspace's latest completed run and, if it was graded, its latest grade (what a report shows). */
export async function latestCompletedRun(sql: Sql | TransactionSql, workspaceId: string) {
  const [run] = await sql<
    {
      id: string
      created_at: Date
      result: SimulationResult
      grade_id: string | null
      grade_score: number | null
      grade_items: unknown[] | null
      design: Design
      traffic: TrafficProfile
      seed: number
    }[]
  >`
    select s.id, s.created_at, s.result, grade_id, grade_score, grade_items, s.design, s.traffic, s.seed
    from app.simulation_runs s
    ${latestGradeJoin(sql, 's.id')}
    where s.workspace_id = ${workspaceId}
      and s.status = 'completed'
    order by s.completed_at desc
    limit 1
  `
  return run
}

/** The workspace's newest runs (at most `limit`), each with its latest completed grade or null: an attempt as its instructor reads it. */
export function runsWithLatestGrade(sql: Sql | TransactionSql, workspaceId: string, limit: number) {
  return sql<
    {
      id: string
      status: string
      created_at: Date
      overall: Record<string, unknown> | null
      grade: { score: number; items: unknown; checks: unknown } | null
    }[]
  >`
    select s.id, s.status, s.created_at, s.result -> 'overall' as overall,
           case when grade_id is null then null
           else jsonb_build_object('score', grade_score, 'items', grade_items, 'checks', grade_checks) end as grade
    from app.simulation_runs s
    ${latestGradeJoin(sql, 's.id')}
    where s.workspace_id = ${workspaceId}
    order by s.created_at desc
    limit ${limit}
  `
}

/**
 * Deletes each workspace's finished runs past its newest `keep`, except a run a grade or an
 * exercise submission refers to (it stays as long as they do: they read it); at most `batch` a
 * call. How many went. Retention acts for no user: it goes through app.delete_surplus_runs
 * (migration 0035), a SECURITY DEFINER function that does exactly this and nothing else.
 */
export async function deleteSurplusRuns(sql: Sql | TransactionSql, keep: number, batch: number): Promise<number> {
  const [{ deleted }] = await sql<{ deleted: number }[]>`select app.delete_surplus_runs(${keep}, ${batch}) as deleted`
  return deleted
}

/** What grading reads: the grade's status and its run's design, traffic, seed and result (with its analysis). */
export async function runOfGrade(sql: Sql | TransactionSql, gradeId: string) {
  const [row] = await sql<
    {
      status: string
      design: Design
      traffic: TrafficProfile
      seed: number
      result: (SimulationResult & { analysis?: Analysis }) | null
      /** The exercise, when the run's workspace is an attempt, and the points its hints cost. */
      exercise_slug: string | null
      hint_points: number | null
      owner_id: string
      workspace_id: string
    }[]
  >`
    select g.status, s.design, s.traffic, s.seed, s.result, a.exercise_slug, a.hint_points, s.owner_id, s.workspace_id
    from app.grade_reports g
    join app.simulation_runs s on s.id = g.simulation_id
    left join app.exercise_attempts a on a.workspace_id = s.workspace_id
    where g.id = ${gradeId}
  `
  return row
}

/** What an explanation recomputes from: the run's design, profile, seed and stored result. */
export async function ownedRunInputs(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const [row] = await sql<{ status: string; design: unknown; traffic: unknown; seed: number; result: unknown }[]>`
    select status, design, traffic, seed, result
    from app.simulation_runs
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

/** The workspace's newest completed run's id (what an exercise submission hands in), or undefined. */
export async function newestCompletedRunId(tx: TransactionSql, workspaceId: string): Promise<string | undefined> {
  const [row] = await tx<{ id: string }[]>`
    select id
    from app.simulation_runs
    where workspace_id = ${workspaceId}
      and status = 'completed'
    order by created_at desc, id desc
    limit 1
  `
  return row?.id
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
export function predictedRuns(sql: Sql | TransactionSql, ownerId: string, limit: number) {
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
