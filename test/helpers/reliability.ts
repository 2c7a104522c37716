import type { Test } from 'tap'
import { createTestDatabase } from './db.ts'
import type { Context, Result } from './stack.ts'

/** The machine's Redis; .ci/run starts it when it is down. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Runs a reliability scenario in its short mode on this test's databases. */
export async function runShort(t: Test, run: (ctx: Context) => Promise<Result>): Promise<Result> {
  const result = await run({
    mode: 'short',
    createDatabase: async () => (await createTestDatabase(t)).url,
    redisUrl: REDIS_URL,
    log: (line) => t.comment(line)
  })
  t.comment(JSON.stringify(result.figures))
  t.same(result.violations, [], 'no invariant broken')
  return result
}
