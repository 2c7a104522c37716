import type { Queue } from 'pg-boss'
import type { Sql, TransactionSql } from '../src/db/client.ts'
import { withContext } from '../src/db/context.ts'
import type { TelemetryHooks } from '../src/queue/jobs.ts'

/** The options every product queue (simulation, grading, export) shares. */
export function productQueueOptions(name: string, expireInSeconds: number): Omit<Queue, 'name'> {
  return {
    retryLimit: 3,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds,
    deadLetter: `${name}_dead`,
    // No NOTIFY in the enqueuing transaction: it serialises committing transactions on Postgres's
    // notification queue. The api wakes the workers after the commit instead (src/queue/wake.ts);
    // without a wake an idle worker polls every 0.5 s, and a hot one fetches in bursts.
    notify: false,
    // A worker that dies mid-job stops its heartbeat; the supervisor then hands the job on.
    heartbeatSeconds: 10
  }
}

const UUID = /^[0-9a-f-]{36}$/i

/**
 * On a failure that will not be retried, marks the job's domain row failed with the error: `fail` is
 * the area's own statement (src/runs' failRun, failGrade; src/exports' failExport), `field` the
 * payload's id of the row. It runs as the job's owner (row-level security): a job cannot mark
 * another user's row failed.
 */
export function markFailedOnFinalFailure<T>(
  sql: Sql,
  fail: (sql: Sql | TransactionSql, id: string, error: string) => Promise<unknown>,
  field: string
): TelemetryHooks<T> {
  return {
    async onFinalFailure(err, job) {
      const data = job.data as Record<string, unknown> | null
      const id = data?.[field]
      const ownerId = data?.ownerId
      if (typeof id !== 'string' || !UUID.test(id) || typeof ownerId !== 'string' || !UUID.test(ownerId)) return
      const organisationId = typeof data?.organisationId === 'string' ? data.organisationId : null
      await withContext(sql, { userId: ownerId, organisationId }, (tx) =>
        fail(tx, id, err.message.slice(0, 500))
      ).catch(() => {})
    }
  }
}
