import type { Fragment, Sql, TransactionSql } from './client.ts'

/** Where a page of the export starts: after this row in (created_at, id) order; `at` is Postgres's text (microseconds). */
export interface Keyset {
  at: string
  id: string
}

export type Paged<T> = T & { key_at: string }

// Each page is a statement of its own in (created_at, id) order, which the owner indexes serve, so
// no connection is held while a slow client reads the page before.
// The key's time goes as text: a timestamptz parameter would pass through a JS Date and lose its microseconds.
export const afterKey = (sql: Sql | TransactionSql, key: Keyset | null): Fragment =>
  key ? sql`and (created_at, id) > (${key.at}::text::timestamptz, ${key.id}::uuid)` : sql``
