import type { JobResult, JobWithMetadata, Queue } from 'pg-boss'
import type { TSchema } from 'typebox'

// What a queue is, for every process: the api creates the queues and sends to them, the worker
// works them, the CLI retries and lists their jobs. Each handler file in jobs/ defines its queue
// with these types; jobs/registry.ts lists them once.

/** Thrown for a job that can never succeed (an invalid payload): no retry, straight to dead letter. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentJobError'
  }
}

/** Every job's data carries the id of the request that enqueued it, and its trace context when traced. */
export interface Traced {
  requestId?: string | null
  traceparent?: string
  tracestate?: string
}

export type Event = 'queued' | 'running' | 'completed' | 'failed' | 'retry'

export interface LifecycleRow {
  queue: string
  job_id: string
  event: Event
  attempt: number
  duration_ms: number | null
  error_message: string | null
  request_id: string | null
  trace_id: string | null
}

export type JobHandler<T> = (job: JobWithMetadata<T>) => Promise<unknown>

/** What a job's handler may be told about its failures (jobs/telemetry.ts calls them). */
export interface TelemetryHooks<T> {
  /** Every failed attempt (for logging). */
  onError?: (err: Error, job: JobWithMetadata<T>) => void
  /** A failure that will not be retried: the handler's chance to mark its domain row failed. */
  onFinalFailure?: (err: Error, job: JobWithMetadata<T>) => Promise<void>
}

/** pg-boss's job states (its `pgboss.job_state` enum). */
export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const

export interface QueueDefinition {
  name: string
  options: Omit<Queue, 'name'>
}

/** A batch handler as pg-boss calls it, with one result per job. */
export type BatchHandler = (jobs: JobWithMetadata<unknown>[]) => Promise<JobResult[]>

/** One queue and how a worker works it. `Deps` is what the worker hands every handler factory. */
export interface JobDefinition<Deps> extends QueueDefinition {
  /** The job's data (checked before the handler sees it; a job that fails it dead-letters). */
  payload: TSchema
  /** Fetch loops per worker: more than one when a batch may wait on its slowest job. */
  fetchLoops?: number
  /**
   * At most this many jobs of one group active at once, across every worker (pg-boss's
   * `groupConcurrency`; a job's group is the `group.id` it was sent with, one without is not limited).
   */
  groupConcurrency?: number
  create(deps: Deps): BatchHandler
}
