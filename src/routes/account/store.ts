import type { Sql, TransactionSql } from '../../db/client.ts'
import { afterKey, type Keyset, type Paged } from '../../db/keyset.ts'
import type { TrafficRow, WorkspaceRow } from '../workspaces/store.ts'

// The data export's workspace pages (the account's own row, its reset tokens and deleting it are
// in src/accounts/users.ts; the runs', grades' and exports' pages in src/runs/ and src/exports/).

export function workspacePage(sql: Sql | TransactionSql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<WorkspaceRow>[]>`
    select *, created_at::text as key_at
    from app.workspaces
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}

export function trafficOf(sql: Sql | TransactionSql, workspaceIds: string[]) {
  return sql<TrafficRow[]>`
    select *
    from app.traffic_profiles
    where workspace_id = any(${workspaceIds}::uuid[])
  `
}
