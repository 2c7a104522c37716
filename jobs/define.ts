import type { JobWithMetadata } from 'pg-boss'
import type { Logger } from 'pino'
import type { Static, TSchema } from 'typebox'
import type { Config } from '../src/config.ts'
import type { Sql } from '../src/db/client.ts'
import type { EnginePool } from '../src/engine/pool.ts'
import {
  type JobDefinition,
  type JobHandler,
  PermanentJobError,
  type QueueDefinition,
  type TelemetryHooks
} from '../src/queue/jobs.ts'
import { type JobMessage, payloadMismatch } from '../src/queue/messages.ts'
import { withJobTelemetry } from './telemetry.ts'

/** What the worker hands every handler factory. */
export interface WorkerDeps {
  sql: Sql
  config: Config
  /** The engine threads, when this worker runs simulations; null runs them on the calling thread. */
  engine: EnginePool | null
  log: Logger
}

/** Jobs a worker fetches at a time (with burst fetching: a batch of one would sleep a polling interval after every job). */
export const BATCH_SIZE = 20

export interface Worked<T> {
  handle: JobHandler<T>
  hooks?: TelemetryHooks<unknown>
  /** Jobs of a batch in progress at once: 1 (the default) for handlers that compute on this thread. */
  concurrency?: number
}

interface Definition<S extends TSchema> extends Omit<QueueDefinition, 'name'> {
  /** The queue's name and payload (src/queue/messages.ts: what the api sends with). */
  message: JobMessage<S>
  fetchLoops?: number
  groupConcurrency?: number
  create(deps: WorkerDeps): Worked<Static<S>>
}

/** A queue with its payload schema and handler: the handler only ever sees data that fits the schema. */
export function defineJob<S extends TSchema>(definition: Definition<S>): JobDefinition<WorkerDeps> {
  const { message, options, fetchLoops, groupConcurrency } = definition
  const { name, payload } = message
  return {
    name,
    options,
    payload,
    fetchLoops,
    groupConcurrency,
    create(deps) {
      const { handle, hooks, concurrency } = definition.create(deps)
      const checked = async (job: JobWithMetadata<unknown>): Promise<unknown> => {
        // A payload that does not fit can never succeed: no retry, straight to the dead letter.
        const mismatch = payloadMismatch(message, job.data)
        if (mismatch) throw new PermanentJobError(mismatch)
        return handle({ ...job, data: job.data as Static<S> })
      }
      return withJobTelemetry(
        deps.sql,
        name,
        checked,
        {
          ...hooks,
          onError: (err, job) =>
            deps.log.warn({ err, queue: name, jobId: job.id, attempt: job.retryCount + 1 }, 'job failed')
        },
        concurrency
      )
    }
  }
}
