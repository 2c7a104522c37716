import type { Fragment, Sql, TransactionSql } from '../../db/client.ts'

// The export routes' statements.

export function insertExport(
  tx: TransactionSql,
  audit: Fragment,
  e: { id: string; workspaceId: string; ownerId: string; format: string }
) {
  return tx`with audit_row as (${audit}) insert into app.report_exports ${tx({ id: e.id, workspace_id: e.workspaceId, owner_id: e.ownerId, format: e.format })}`
}

export async function ownedExport(sql: Sql, id: string, ownerId: string) {
  const [row] = await sql`
    select id, workspace_id, format, status, filename, content_type, error, created_at, completed_at
    from app.report_exports
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}

export async function ownedExportContent(sql: Sql, id: string, ownerId: string) {
  const [row] = await sql<{ status: string; content: string | null; content_type: string; filename: string }[]>`
    select status, content, content_type, filename
    from app.report_exports
    where id = ${id}
      and owner_id = ${ownerId}
  `
  return row
}
