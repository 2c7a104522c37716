import type { Fragment, Sql, TransactionSql } from './client.ts'

// What the work rows share (runs, grades and exports: queued → running → completed | failed).

/** `set … where …` of an update: the row `id` failed with `error`, unless it completed meanwhile. */
export const failedUnlessCompleted = (sql: Sql | TransactionSql, id: string, error: string): Fragment => sql`
  set status = 'failed', error = ${error}, completed_at = now()
  where id = ${id}
    and status <> 'completed'
`
