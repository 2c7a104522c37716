import type { JobWithMetadata } from 'pg-boss'
import type { Logger } from 'pino'
import { type Static, type TProperties, type TSchema, Type } from 'typebox'
import { Value } from 'typebox/value'
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

interface Definition<S extends TSchema> extends QueueDefinition {
  payload: S
  fetchLoops?: number
  groupConcurrency?: number
  create(deps: WorkerDeps): Worked<Static<S>>
}

/** A queue with its payload schema and handler: the handler only ever sees data that fits the schema. */
export function defineJob<S extends TSchema>(definition: Definition<S>): JobDefinition<WorkerDeps> {
  const { name, options, payload, fetchLoops, groupConcurrency } = definition
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
        if (!Value.Check(payload, job.data)) throw new PermanentJobError(describeMismatch(payload, job.data))
        return handle({ ...job, data: job.data })
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

/** The first mismatch, as `payload.runId must be a uuid`. */
function describeMismatch(schema: TSchema, data: unknown): string {
  const [first] = Value.Errors(schema, data)
  if (!first) return 'payload does not match its schema'
  const at = `payload${first.instancePath.replaceAll('/', '.')}`
  if (first.keyword === 'format') return `${at} must be a ${String(first.params.format)}`
  return `${at} ${first.message}`
}

/** A job's data: its own fields, the id of the request that enqueued it and its W3C trace context. */
export function jobPayload<P extends TProperties>(properties: P) {
  return Type.Object({
    ...properties,
    requestId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    traceparent: Type.Optional(Type.String({ maxLength: 55 })),
    tracestate: Type.Optional(Type.String({ maxLength: 512 }))
  })
}
