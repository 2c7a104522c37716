import type { PgBoss } from 'pg-boss'
import type { Sql } from '../db/client.ts'
import { createBoss } from './boss.ts'
import type { QueueDefinition } from './jobs.ts'

/** Every queue's name and its dead-letter queue's (the admin API and the CLI accept them). */
export function queueNames(queues: readonly QueueDefinition[]): string[] {
  return queues.flatMap((q) => [q.name, ...(q.options.deadLetter ? [q.options.deadLetter] : [])])
}

/**
 * Creates the queues with a short-lived instance before the long-lived one starts: pg-boss caches
 * the queue list at start, and a send that misses that cache looks the queue up on the pool,
 * which deadlocks once every pooled connection is a transaction waiting for that same send.
 * `installSchema`: also install or migrate pg-boss's schema (the owner, at migrate time).
 */
export async function prepareQueues(
  sql: Sql,
  queues: readonly QueueDefinition[],
  { installSchema = false }: { installSchema?: boolean } = {}
): Promise<void> {
  const setup = createBoss(sql, { role: 'cli', onError: () => {}, installSchema })
  await setup.start()
  try {
    await createQueues(setup, queues)
  } finally {
    await setup.stop({ graceful: false, close: false })
  }
}

/** Creates the queues and their dead-letter queues (idempotent). */
export async function createQueues(boss: PgBoss, queues: readonly QueueDefinition[]): Promise<void> {
  for (const queue of queues) {
    if (queue.options.deadLetter) await boss.createQueue(queue.options.deadLetter, { retentionSeconds: 30 * 86400 })
    await boss.createQueue(queue.name, queue.options)
    // createQueue leaves an existing queue as it was: bring its options in line with the code.
    const { policy: _policy, heartbeatSeconds: _heartbeat, ...updatable } = queue.options
    await boss.updateQueue(queue.name, updatable)
  }
}
