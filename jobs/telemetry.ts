import type { JobResult, JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { type JobHandler, type LifecycleRow, PermanentJobError, type TelemetryHooks } from '../src/queue/jobs.ts'
import { completeWithTelemetry, insertLifecycle } from '../src/queue/statements.ts'

/** The id of the request that enqueued the job, when its data carries one. */
function requestIdOf(data: unknown): string | null {
  return data !== null && typeof data === 'object' && 'requestId' in data && typeof data.requestId === 'string'
    ? data.requestId
    : null
}

/**
 * Wraps a per-job handler for a batch worker: writes running/completed/failed/retry rows,
 * and turns each outcome into pg-boss's per-job result (a PermanentJobError dead-letters).
 */
export function withJobTelemetry<T>(
  sql: Sql,
  queue: string,
  handle: JobHandler<T>,
  hooks: TelemetryHooks<T> = {},
  /** Jobs of a batch in progress at once: 1 for handlers that compute on this thread. */
  concurrency = 1
) {
  return async function handleBatch(jobs: JobWithMetadata<T>[]): Promise<JobResult[]> {
    await insertLifecycle(
      sql,
      jobs.map((job) => ({
        queue,
        job_id: job.id,
        event: 'running',
        attempt: job.retryCount + 1,
        duration_ms: null,
        error_message: null,
        request_id: requestIdOf(job.data)
      }))
    )
    const runOne = async (job: JobWithMetadata<T>): Promise<{ result: JobResult; row: LifecycleRow }> => {
      const started = performance.now()
      const base = { queue, job_id: job.id, attempt: job.retryCount + 1, request_id: requestIdOf(job.data) }
      try {
        const output = await handle(job)
        const duration_ms = performance.now() - started
        return {
          result: { id: job.id, status: 'completed', output: output as object },
          row: { ...base, event: 'completed', duration_ms, error_message: null }
        }
      } catch (err) {
        const error = err as Error
        hooks.onError?.(error, job)
        const duration_ms = performance.now() - started
        const permanent = error instanceof PermanentJobError
        const willRetry = !permanent && job.retryCount < job.retryLimit
        if (!willRetry) await hooks.onFinalFailure?.(error, job).catch((e: Error) => hooks.onError?.(e, job))
        return {
          result: {
            id: job.id,
            status: permanent ? 'deadletter' : 'failed',
            output: { message: error.message, name: error.name }
          },
          row: {
            ...base,
            event: willRetry ? 'retry' : 'failed',
            duration_ms,
            error_message: error.message.slice(0, 1000)
          }
        }
      }
    }
    // `concurrency` jobs at a time (one, for a handler that computes on this thread), yielding
    // between jobs so the event loop stays free for pg-boss's heartbeats on a long batch.
    const outcomes: { result: JobResult; row: LifecycleRow }[] = new Array(jobs.length)
    let next = 0
    const lane = async () => {
      while (next < jobs.length) {
        const index = next++
        await new Promise((resolve) => setImmediate(resolve))
        outcomes[index] = await runOne(jobs[index])
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane))
    await completeWithTelemetry(
      sql,
      queue,
      outcomes.flatMap((o, i) =>
        o.result.status === 'completed' ? [{ ...o.row, retry_count: jobs[i].retryCount, output: o.result.output }] : []
      )
    )
    await insertLifecycle(
      sql,
      outcomes.filter((o) => o.result.status !== 'completed').map((o) => o.row)
    )
    // pg-boss settles the rest; its completion of the jobs settled here finds them settled already.
    return outcomes.map((o) => o.result)
  }
}
