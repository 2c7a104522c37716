import type { Fragment, Sql, TransactionSql } from '../../db/client.ts'
import { latestGradeJoin } from '../../db/grades.ts'

// The simulation and grade routes' statements.

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

/** A page of a workspace's runs, newest first, with their overall figures; one row more than `limit`. */
export function listRuns(sql: Sql, workspaceId: string, after: Fragment, limit: number) {
  return sql<(RunRow & { overall: unknown; grade_id: string | null; grade_score: number | null })[]>`
    select ${sql(RUN_COLUMNS)}, result -> 'overall' as overall, grade_id, grade_score
    from app.simulation_runs
    ${latestGradeJoin(sql, 'simulation_runs.id')}
    where workspace_id = ${workspaceId}
      ${after}
    order by created_at desc, id desc
    limit ${limit + 1}
  `
}

export async function ownedRun(sql: Sql, id: string, ownerId: string) {
  const [row] = await sql<(RunRow & { result: unknown })[]>`
    select ${sql(RUN_COLUMNS)}, result
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
  }
) {
  return tx`
    with audit_row as (${audit})
    insert into app.simulation_runs ${tx({
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

export function insertGrade(
  tx: TransactionSql,
  audit: Fragment,
  grade: { id: string; simulationId: string; ownerId: string }
) {
  return tx`with audit_row as (${audit}) insert into app.grade_reports ${tx({ id: grade.id, simulation_id: grade.simulationId, owner_id: grade.ownerId })}`
}

export async function ownedGrade(sql: Sql, id: string, ownerId: string) {
  const [row] = await sql`
    select id, simulation_id, status, score, items, rubric_version, error, created_at, completed_at
    from app.grade_reports
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

/** What an explanation recomputes from: the run's design, profile, seed and stored result. */
export async function ownedRunInputs(sql: Sql, id: string, ownerId: string) {
  const [row] = await sql<{ status: string; design: unknown; traffic: unknown; seed: number; result: unknown }[]>`
    select status, design, traffic, seed, result
    from app.simulation_runs
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}
