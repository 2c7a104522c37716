import type { Fragment, Sql, TransactionSql } from './client.ts'

// What the work rows share (runs, grades and exports: queued → running → completed | failed).

/** `set … where …` of an update: the row `id` failed with `error`, unless it completed meanwhile. */
export const failedUnlessCompleted = (sql: Sql | TransactionSql, id: string, error: string): Fragment => sql`
  set status = 'failed', error = ${error}, completed_at = now()
  where id = ${id}
    and status <> 'completed'
`

/**
 * The end of an update's `set` list, and its `where` and `returning`: the row `id` completed (with
 * the columns the list set before it), once: a retried or duplicated job finds it completed and
 * writes nothing, and gets no row back.
 */
export const completedOnce = (sql: Sql | TransactionSql, id: string): Fragment => sql`
  status = 'completed', completed_at = now()
  where id = ${id}
    and status <> 'completed'
  returning id
`
