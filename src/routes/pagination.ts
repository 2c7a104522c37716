import { type TSchema, Type } from 'typebox'
import type { Sql } from '../db/client.ts'
import { InvalidCursor } from '../errors.ts'

// Keyset pagination over (created_at desc, id desc), shared by every list that is newest first.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const Cursor = Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })

export const ListQuery = Type.Object(
  { cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) },
  { additionalProperties: false }
)

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object(
    { items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    { additionalProperties: false }
  )
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|')
  const createdAt = new Date(at)
  // Exactly the form encodeCursor writes: a year Postgres cannot hold would otherwise be a 500.
  if (!ISO_INSTANT.test(at ?? '') || Number.isNaN(createdAt.getTime()) || !UUID.test(id ?? ''))
    throw new InvalidCursor()
  return { createdAt, id }
}

/** The `and (created_at, id) < …` fragment for a query string's cursor (none on the first page). */
export function afterCursor(sql: Sql, cursor: string | undefined) {
  if (!cursor) return sql``
  const at = decodeCursor(cursor)
  return sql`and (created_at, id) < (${at.createdAt}, ${at.id})`
}

/** Rows fetched with `limit + 1`: the page, and the cursor of its last row when more follow. */
export function keysetPage<R extends { created_at: Date; id: string }>(rows: R[], limit: number) {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return { page, nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null }
}
