import type { Fragment, Sql, TransactionSql } from '../db/client.ts'
import { afterKey, type Keyset, type Paged } from '../db/keyset.ts'
import { completedOnce, failedUnlessCompleted } from '../db/work-rows.ts'
import type { Design } from '../domain/model.ts'
import type { ExportFormat } from '../domain/report.ts'
import { workspaceWithTrafficJoin } from '../workspaces/shared.ts'

// Every statement on app.report_exports: the routes', the export job's, the quotas', the data
// export's, the account deletion's and retention's.

export interface ExportRow {
  id: string
  workspace_id: string
  format: 'markdown' | 'json' | 'html'
  status: 'queued' | 'running' | 'completed' | 'failed'
  filename: string | null
  content_type: string | null
  error: string | null
  created_at: Date
  completed_at: Date | null
}

const EXPORT_COLUMNS = [
  'id',
  'workspace_id',
  'format',
  'status',
  'filename',
  'content_type',
  'error',
  'created_at',
  'completed_at'
] as const

/** A queued export, in the statement that also writes its audit row. */
export function insertExport(
  tx: TransactionSql,
  audit: Fragment,
  e: { id: string; workspaceId: string; ownerId: string; format: string }
) {
  return tx`with audit_row as (${audit}) insert into app.report_exports ${tx({ id: e.id, workspace_id: e.workspaceId, owner_id: e.ownerId, format: e.format })}`
}

/** The export's description (not its content), if it is the owner's. */
export async function ownedExport(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const [row] = await sql<ExportRow[]>`
    select ${sql(EXPORT_COLUMNS)}
    from app.report_exports
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

/** The export's content, if it is the owner's. */
export async function ownedExportContent(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const [row] = await sql<{ status: string; content: string | null; content_type: string; filename: string }[]>`
    select status, content, content_type, filename
    from app.report_exports
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

/** The reports' descriptions, not their content (a report is rendered from the runs the archive carries). */
export function exportPage(sql: Sql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<ExportRow>[]>`
    select ${sql(EXPORT_COLUMNS)}, created_at::text as key_at
    from app.report_exports
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}

/** The user's exports in the last 24 hours, and when the oldest of them was made (for the quota). */
export async function exportsToday(tx: TransactionSql, ownerId: string) {
  const [row] = await tx<{ today: number; oldest: Date | null }[]>`
    select count(*)::int as today, min(created_at) as oldest
    from app.report_exports
    where owner_id = ${ownerId}
      and created_at > now() - interval '1 day'
  `
  return row
}

/** `(select count(*) …)::int`: how many exports the user has, as a column of the caller's query. */
export const exportCountOf = (sql: Sql | TransactionSql, ownerId: string): Fragment =>
  sql`(select count(*) from app.report_exports where owner_id = ${ownerId})::int`

/** What the export job renders: the export's status and format, its workspace and the workspace's traffic. */
export async function exportToRender(sql: Sql | TransactionSql, id: string) {
  const [row] = await sql<
    {
      status: string
      format: ExportFormat
      workspace_id: string
      name: string
      description: string
      design: Design
      version: number
      peak_rps: number
      read_ratio: number
      payload_kb: number
      latency_slo_ms: number
    }[]
  >`
    select e.status, e.format, workspace.*
    from app.report_exports e
    ${workspaceWithTrafficJoin(sql, 'e.workspace_id')}
    where e.id = ${id}
  `
  return row
}

/** Stores a rendered report once: a retried or duplicated job finds it completed and writes nothing. */
export async function completeExport(
  sql: Sql | TransactionSql,
  id: string,
  report: { content: string; contentType: string; filename: string }
): Promise<boolean> {
  const stored = await sql`
    update app.report_exports
    set content = ${report.content}, content_type = ${report.contentType}, filename = ${report.filename},
      ${completedOnce(sql, id)}
  `
  return stored.length === 1
}

/** Marks an export failed with the error, unless it completed meanwhile. */
export async function failExport(sql: Sql | TransactionSql, id: string, error: string): Promise<void> {
  await sql`update app.report_exports ${failedUnlessCompleted(sql, id, error)}`
}

/** Deletes finished exports older than `days` (the report can be made again); at most `batch` a call. How many went. */
export async function deleteOldExports(sql: Sql | TransactionSql, days: number, batch: number): Promise<number> {
  const exports = await sql`
    delete from app.report_exports
    where id in (
      select id
      from app.report_exports
      where created_at < now() - make_interval(days => ${days})
        and status in ('completed', 'failed')
      limit ${batch}
    )
  `
  return exports.count
}
