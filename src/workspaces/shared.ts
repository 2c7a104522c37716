import type { Fragment, Sql, TransactionSql } from '../db/client.ts'

// The statements on app.workspaces that other modules of the core compose or call: the counts, the
// account deletion's and the export's join. Apart from store.ts, which throws the routes' errors,
// so the worker loads them without Fastify.

/** `(select count(*) …)::int`: how many workspaces the user has, as a column of the caller's query. */
export const workspaceCountOf = (sql: Sql | TransactionSql, ownerId: string): Fragment =>
  sql`(select count(*) from app.workspaces where owner_id = ${ownerId})::int`

/** How many workspaces the user has (the quota's count). */
export async function workspaceCount(sql: Sql | TransactionSql, ownerId: string): Promise<number> {
  const [{ count }] = await sql<{ count: number }[]>`select ${workspaceCountOf(sql, ownerId)} as count`
  return count
}

/**
 * `join lateral (…) workspace on true`: the workspace whose id the outer query's column
 * `workspaceId` holds (`e.workspace_id`), with the figures of its traffic profile a report shows,
 * as `workspace_id`, `name`, `description`, `design`, `version`, `peak_rps`, `read_ratio`,
 * `payload_kb` and `latency_slo_ms`; no row when the workspace is gone.
 */
export const workspaceWithTrafficJoin = (sql: Sql | TransactionSql, workspaceId: string): Fragment => sql`
  join lateral (
    select w.id as workspace_id, w.name, w.description, w.design, w.version,
           t.peak_rps, t.read_ratio, t.payload_kb, t.latency_slo_ms
    from app.workspaces w
    join app.traffic_profiles t on t.workspace_id = w.id
    where w.id = ${sql(workspaceId)}
  ) workspace on true
`

/** Deletes all the user's workspaces, and through them their traffic profiles, runs, grades and exports. */
export async function deleteWorkspacesOf(tx: TransactionSql, ownerId: string): Promise<void> {
  await tx`delete from app.workspaces where owner_id = ${ownerId}`
}
