// Never run: `npm run typecheck` reads it. Each send marked @ts-expect-error has a payload its queue
// does not take; were the enqueue API to stop typing payloads, the marker would be unused and
// tsc would fail on that instead (test/queue/enqueue.test.ts also checks each line fails alone).
import type { PgBoss } from 'pg-boss'
import type { TransactionSql } from '../../src/db/client.ts'
import { enqueueJob } from '../../src/queue/enqueue.ts'
import { EmailJob, GradingJob, SimulationJob } from '../../src/queue/messages.ts'

export function sends(boss: PgBoss, tx: TransactionSql, id: string) {
  // @ts-expect-error another queue's field
  void enqueueJob(boss, tx, SimulationJob, { gradeId: id }, null)
  // @ts-expect-error a misspelt field
  void enqueueJob(boss, tx, GradingJob, { gradeID: id }, null)
  // @ts-expect-error a field of the wrong type
  void enqueueJob(boss, tx, SimulationJob, { runId: 42 }, null)
  // @ts-expect-error a mail there is no such kind of
  void enqueueJob(boss, tx, EmailJob, { kind: 'welcome', userId: id }, null)
  // What each queue does take.
  void enqueueJob(boss, tx, SimulationJob, { runId: id, ownerId: id }, null)
  void enqueueJob(boss, tx, EmailJob, { kind: 'verify', userId: null }, null)
}
