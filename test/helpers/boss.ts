import type { PgBoss } from 'pg-boss'
import type { Test } from 'tap'
import type { Sql } from '../../src/db/client.ts'
import { type BossOptions, createBoss } from '../../src/queue/boss.ts'

/** A started pg-boss on the test's pool, stopped (without waiting for jobs) at teardown. */
export async function startedBoss(
  t: Test,
  sql: Sql,
  role: BossOptions['role'],
  onError: (err: Error) => void = () => {}
): Promise<PgBoss> {
  const boss = createBoss(sql, { role, onError })
  await boss.start()
  t.teardown(() => boss.stop({ graceful: false, close: false }))
  return boss
}
