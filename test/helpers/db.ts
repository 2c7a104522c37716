import type { Test } from 'tap'
import { DatabaseFactory } from '../../reliability/lib/stack.ts'
import { createSql, type Sql } from '../../src/db/client.ts'

export function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is unset: run the tests with `npm test`')
  return url
}

/** A fresh database for one test, dropped at teardown. */
export async function createTestDatabase(t: Test, { migrated = true } = {}): Promise<{ url: string }> {
  const databases = new DatabaseFactory(adminUrl())
  t.teardown(() => databases.dropAll())
  return { url: await databases.create({ migrated }) }
}

/** A pool for assertions, closed at teardown. */
export function testSql(t: Test, url: string): Sql {
  const sql = createSql(url, { max: 4, applicationName: 'sdc-test' })
  t.teardown(() => sql.end({ timeout: 1 }))
  return sql
}

export { waitFor } from '../../reliability/lib/wait.ts'
