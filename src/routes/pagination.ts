import { type TObject, type TProperties, type TSchema, Type } from 'typebox'
import type { Sql } from '../db/client.ts'
import { BadRequest, InvalidCursor } from '../errors.ts'

// Keyset pagination, newest first, shared by every list. Most lists are ordered by
// (created_at desc, id desc) with a uuid id; the audit log, which keeps no index but its key,
// by its bigint id alone (`serial`). The cursor is opaque either way.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SERIAL = /^[0-9]{1,18}$/
type Keyset = 'created' | 'serial'
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const Cursor = Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })

const listProperties = (maxLimit: number, defaultLimit: number) => ({
  cursor: Type.Optional(Cursor),
  limit: Type.Integer({ minimum: 1, maximum: maxLimit, default: defaultLimit })
})

export const ListQuery = Type.Object(listProperties(100, 20), { additionalProperties: false })

/** A list's query string: its own filters, then the cursor and a limit (up to `maxLimit`). */
export function listQueryWith<P extends TProperties>(filters: TObject<P>, maxLimit: number, defaultLimit: number) {
  return Type.Object(
    { ...filters.properties, ...listProperties(maxLimit, defaultLimit) },
    { additionalProperties: false }
  )
}

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object(
    { items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    { additionalProperties: false }
  )
}

/**
 * A date a query gave, as Postgres can hold it: a real instant (no 24:00 or leap second, which
 * JavaScript does not parse) from year 1 to 9999. Anything else is the client's 400, never a 500.
 */
export function instantOf(text: string, name: string): Date {
  const at = new Date(text)
  const year = at.getUTCFullYear()
  if (Number.isNaN(at.getTime()) || year < 1 || year > 9999)
    throw new BadRequest(`${name} must be a date and time from year 1 to 9999`)
  return at
}

function encodeCursor(createdAt: Date, id: string, keyset: Keyset): string {
  return Buffer.from(keyset === 'serial' ? id : `${createdAt.toISOString()}|${id}`).toString('base64url')
}

function decodeCursor(cursor: string, keyset: Keyset): { createdAt: Date; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString()
  if (keyset === 'serial') {
    if (!SERIAL.test(text)) throw new InvalidCursor()
    return { createdAt: new Date(0), id: text }
  }
  const [at, id] = text.split('|')
  const createdAt = new Date(at)
  // Exactly the form encodeCursor writes, in a year Postgres can hold (year 0 once answered 500).
  const year = createdAt.getUTCFullYear()
  if (!ISO_INSTANT.test(at ?? '') || !(year >= 1 && year <= 9999) || !UUID.test(id ?? '')) throw new InvalidCursor()
  return { createdAt, id }
}

/** The `and … < …` fragment for a query string's cursor (none on the first page). */
export function afterCursor(
  sql: Sql,
  cursor: string | undefined,
  keyset: Keyset = 'created',
  createdColumn = 'created_at'
) {
  if (!cursor) return sql``
  const at = decodeCursor(cursor, keyset)
  return keyset === 'serial'
    ? sql`and id < ${at.id}`
    : sql`and (${sql(createdColumn)}, id) < (${at.createdAt}, ${at.id})`
}

/** Rows fetched with `limit + 1`: the page, and the cursor of its last row when more follow. */
export function keysetPage<R extends { created_at: Date; id: string }>(
  rows: R[],
  limit: number,
  keyset: Keyset = 'created'
) {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    page,
    nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id, keyset) : null
  }
}
