import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { Test } from 'tap'
import { createSql, type Sql } from '../../src/db/client.ts'
import { migrate } from '../../src/db/migrate.ts'

export function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is unset: run the tests with `npm test`')
  return url
}

export function urlFor(database: string): string {
  const url = new URL(adminUrl())
  url.pathname = `/${database}`
  return url.toString()
}

/** A fresh database for one test file, dropped at teardown. */
export async function createTestDatabase(t: Test, { migrated = true } = {}): Promise<{ url: string; name: string }> {
  const name = `sdc_test_${randomBytes(6).toString('hex')}`
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = urlFor(name)
  if (migrated) {
    const sql = createSql(url, { max: 2 })
    await migrate(sql)
    await sql.end()
  }
  t.teardown(async () => {
    const drop = postgres(adminUrl(), { max: 1, onnotice: () => {} })
    await drop.unsafe(`drop database if exists ${name} with (force)`)
    await drop.end()
  })
  return { url, name }
}

/** A pool for assertions, closed at teardown. */
export function testSql(t: Test, url: string): Sql {
  const sql = createSql(url, { max: 4, applicationName: 'sdc-test' })
  t.teardown(() => sql.end({ timeout: 1 }))
  return sql
}

/** Polls until `check` returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`
      )
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
