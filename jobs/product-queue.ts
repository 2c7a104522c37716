import type { Queue } from 'pg-boss'
import type { Sql, TransactionSql } from '../src/db/client.ts'
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

/**
 * On a failure that will not be retried, marks the job's domain row failed with the error: `fail` is
 * the area's own statement (src/runs' failRun, failGrade; src/exports' failExport), `field` the
 * payload's id of the row.
 */
export function markFailedOnFinalFailure<T>(
  sql: Sql,
  fail: (sql: Sql | TransactionSql, id: string, error: string) => Promise<unknown>,
  field: string
): TelemetryHooks<T> {
  return {
    async onFinalFailure(err, job) {
      const id = (job.data as Record<string, unknown> | null)?.[field]
      if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return
      await fail(sql, id, err.message.slice(0, 500)).catch(() => {})
    }
  }
}
