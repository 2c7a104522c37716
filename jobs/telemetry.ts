import type { JobResult, JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { type JobHandler, type LifecycleRow, PermanentJobError, type TelemetryHooks } from '../src/queue/jobs.ts'
import { completeWithTelemetry, insertLifecycle } from '../src/queue/statements.ts'
import { extractContext, inSpan, SpanKind, SpanStatusCode, traceIdOf } from '../src/tracing.ts'

const fields = (data: unknown): Record<string, unknown> =>
  data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {}

/** The ids of the request (and trace) that enqueued the job, when its data carries them. */
function originOf(data: unknown): { request_id: string | null; trace_id: string | null } {
  const { requestId, traceparent } = fields(data)
  return { request_id: typeof requestId === 'string' ? requestId : null, trace_id: traceIdOf(traceparent) }
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
        ...originOf(job.data)
      }))
    )
    // A consumer span per job, continuing the trace of the request that enqueued it.
    const runOne = (job: JobWithMetadata<T>) =>
      inSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          parent: extractContext(fields(job.data)),
          attributes: {
            'messaging.system': 'pg-boss',
            'messaging.destination.name': queue,
            'messaging.message.id': job.id,
            'sdc.job.attempt': job.retryCount + 1
          }
        },
        async (span) => {
          const outcome = await attempt(job)
          span?.setAttribute('sdc.job.outcome', outcome.row.event)
          if (outcome.row.event !== 'completed') span?.setStatus({ code: SpanStatusCode.ERROR })
          return outcome
        }
      )
    const attempt = async (job: JobWithMetadata<T>): Promise<{ result: JobResult; row: LifecycleRow }> => {
      const started = performance.now()
      const base = { queue, job_id: job.id, attempt: job.retryCount + 1, ...originOf(job.data) }
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
