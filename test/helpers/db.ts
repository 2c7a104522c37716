import type { Test } from 'tap'
import { createSql, type Sql } from '../../src/db/client.ts'
import { DatabaseFactory, type TestDatabase } from './stack.ts'

export function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is unset: run the tests with `npm test`')
  return url
}

/**
 * A fresh database for one test, dropped at teardown: `url` logs in as the app's role (what the
 * app, the worker and the CLI get), `ownerUrl` as its owner (migrations, and checks that need more).
 */
export async function createTestDatabase(t: Test, { migrated = true } = {}): Promise<TestDatabase> {
  const databases = new DatabaseFactory(adminUrl())
  t.teardown(() => databases.dropAll())
  return databases.create({ migrated })
}

/**
 * A test database as the cluster's superuser: for a test that plays someone with every power (the
 * triggers off, say). Anything less uses the database's `url` or `ownerUrl`.
 */
export function superuserUrl(databaseUrl: string): string {
  const url = new URL(adminUrl())
  url.pathname = new URL(databaseUrl).pathname
  return url.toString()
}

/** A pool for assertions, closed at teardown. */
export function testSql(t: Test, url: string): Sql {
  const sql = createSql(url, { max: 4, applicationName: 'sdc-test' })
  t.teardown(() => sql.end({ timeout: 1 }))
  return sql
}

export { waitFor } from './wait.ts'
