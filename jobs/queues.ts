import type { Queue } from 'pg-boss'
import * as email from './email.ts'
import * as exporter from './export.ts'
import * as grading from './grading.ts'
import * as maintenance from './maintenance.ts'
import * as simulation from './simulation.ts'

export interface QueueDefinition {
  name: string
  options: Omit<Queue, 'name'>
}

/** Every queue this app uses; the api creates them all so a send never hits a missing queue. */
export const QUEUES: readonly QueueDefinition[] = [
  simulation.queue,
  grading.queue,
  exporter.queue,
  email.queue,
  maintenance.queue
]

/**
 * Creates the queues with a short-lived instance before the long-lived one starts: pg-boss caches
 * the queue list at start, and a send that misses that cache looks the queue up on the pool,
 * which deadlocks once every pooled connection is a transaction waiting for that same send.
 */
export async function prepareQueues(sql: import('../src/db/client.ts').Sql): Promise<void> {
  const { createBoss } = await import('./boss.ts')
  const setup = createBoss(sql, { role: 'cli', onError: () => {} })
  await setup.start()
  try {
    await createQueues(setup)
  } finally {
    await setup.stop({ graceful: false, close: false })
  }
}

/** Creates the queues and their dead-letter queues (idempotent). */
export async function createQueues(boss: import('pg-boss').PgBoss): Promise<void> {
  for (const queue of QUEUES) {
    if (queue.options.deadLetter) await boss.createQueue(queue.options.deadLetter, { retentionSeconds: 30 * 86400 })
    await boss.createQueue(queue.name, queue.options)
    // createQueue leaves an existing queue as it was: bring its options in line with the code.
    const { policy: _policy, heartbeatSeconds: _heartbeat, ...updatable } = queue.options
    await boss.updateQueue(queue.name, updatable)
  }
}
