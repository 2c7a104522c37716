import t from 'tap'
import { uuidv7, uuidv7Time } from '../src/ids.ts'
import { createTestDatabase, testSql } from './helpers/db.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('a UUIDv7 carries its time, version 7 and the RFC variant, and is unique', async (t) => {
  const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123)
  const id = uuidv7(now)
  t.match(id, UUID_V7)
  t.equal(uuidv7Time(id), now, 'the first 48 bits are the milliseconds')
  t.equal(uuidv7Time(uuidv7(2 ** 48 - 1)), 2 ** 48 - 1, 'the largest time fits')
  const ids = new Set(Array.from({ length: 50_000 }, () => uuidv7(now)))
  t.equal(ids.size, 50_000, 'no repeats within one millisecond')
  for (const one of [...ids].slice(0, 2000)) if (!UUID_V7.test(one)) t.fail(`malformed: ${one}`)
})

t.test('ids made later sort after earlier ones, as text and as Postgres uuids', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000, 2 ** 47].map((ms) => uuidv7(ms))
  t.same([...ids].sort(), ids, 'text order is time order')
  const rows = await sql<
    { id: string }[]
  >`select id::text as id from unnest(${ids.slice().reverse()}::uuid[]) as id order by id`
  t.same(
    rows.map((r) => r.id),
    ids,
    'uuid order is time order'
  )
})
