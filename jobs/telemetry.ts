import type { JobResult, JobWithMetadata, PgBoss, SendOptions } from 'pg-boss'
import { pgArray, type Sql, type TransactionSql } from '../src/db/client.ts'
import { uuidv7 } from '../src/ids.ts'
import { fromPostgresJs } from './boss.ts'

/** Thrown for a job that can never succeed (an invalid payload): no retry, straight to dead letter. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentJobError'
  }
}

/** Every job's data carries the id of the request that enqueued it. */
export interface Traced {
  requestId?: string | null
}

type Event = 'queued' | 'running' | 'completed' | 'failed' | 'retry'

interface LifecycleRow {
  queue: string
  job_id: string
  event: Event
  attempt: number
  duration_ms: number | null
  error_message: string | null
  request_id: string | null
}

async function insertLifecycle(sql: Sql | TransactionSql, rows: LifecycleRow[]): Promise<void> {
  if (rows.length === 0) return
  const column = <K extends keyof LifecycleRow>(key: K) => pgArray(rows.map((r) => r[key]))
  await sql`
    insert into app.job_telemetry (queue, job_id, event, attempt, duration_ms, error_message, request_id)
    select *
    from unnest(
      ${column('queue')}::text[], ${column('job_id')}::uuid[], ${column('event')}::text[], ${column('attempt')}::int[],
      ${column('duration_ms')}::float8[], ${column('error_message')}::text[], ${column('request_id')}::text[]
    )
  `
}

/**
 * Completes jobs and writes their `completed` rows in one statement, so a worker killed between
 * the two cannot leave a completion recorded on a job that is then delivered again. Fenced as
 * pg-boss 12.35's completeJobsWithOutputs is (still active, at the attempt that was fetched): a
 * job whose claim lapsed is neither completed nor recorded here. Output is stored as pg-boss's
 * `complete` stores it (an object, or `{ value }`).
 */
async function completeWithTelemetry(
  sql: Sql,
  queue: string,
  rows: (LifecycleRow & { retry_count: number; output: unknown })[]
): Promise<void> {
  if (rows.length === 0) return
  const input = rows.map((r) => ({
    id: r.job_id,
    retry_count: r.retry_count,
    output:
      r.output === undefined || r.output === null
        ? null
        : typeof r.output === 'object' && !Array.isArray(r.output)
          ? r.output
          : { value: r.output },
    attempt: r.attempt,
    duration_ms: r.duration_ms,
    request_id: r.request_id
  }))
  await sql`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)})
        as x(id uuid, retry_count int, output jsonb, attempt int, duration_ms float8, request_id text)
    ),
    settled as (
      update pgboss.job j
      set completed_on = pgboss.job_now(), state = 'completed', output = i.output
      from input i
      where j.name = ${queue} and j.id = i.id and j.state = 'active' and j.retry_count = i.retry_count
      returning j.id
    )
    insert into app.job_telemetry (queue, job_id, event, attempt, duration_ms, request_id)
    select ${queue}, i.id, 'completed', i.attempt, i.duration_ms, i.request_id
    from input i join settled s on s.id = i.id
  `
}

/**
 * Sends a job inside the caller's transaction together with its `queued` telemetry row:
 * the change, its job and the job's first lifecycle row commit or roll back together.
 *
 * A plain job (no options but its id) on a standard-policy queue is one statement: the row
 * pg-boss's `send` would write, and the telemetry row beside it. pg-boss's own insert reads its
 * options through json_to_recordset and inserts speculatively (ON CONFLICT DO NOTHING for its
 * singleton policies): about 70 µs of database time per job more than a plain insert, which cost
 * the enqueue route its target (bench: with vs without its job 0.71–0.75 → 0.81–0.84).
 * The columns follow pg-boss 12.35's insertJobs (the version is pinned exactly); a test holds the
 * row to the one `send` writes. Product queues poll (no NOTIFY), so none is sent here.
 */
export async function enqueueJob<T extends object>(
  boss: PgBoss,
  tx: TransactionSql,
  queue: string,
  data: T,
  requestId: string | null,
  options: SendOptions = {}
): Promise<string | null> {
  const { id = uuidv7(), ...sendOptions } = options
  if (Object.keys(sendOptions).length === 0) {
    const rows = await tx`
      with job as (
        insert into pgboss.job
          (id, name, data, start_after, created_on, keep_until, expire_seconds, deletion_seconds, retry_limit,
           retry_delay, retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds)
        select ${id}, q.name, ${tx.json({ ...data, requestId } as never)}, pgboss.job_now(), pgboss.job_now(),
          pgboss.job_now() + q.retention_seconds * interval '1 second', q.expire_seconds, q.deletion_seconds,
          q.retry_limit, q.retry_delay, coalesce(q.retry_backoff, false), q.retry_delay_max, q.policy, q.dead_letter,
          q.heartbeat_seconds
        from pgboss.queue q
        where q.name = ${queue}
          and coalesce(q.policy, 'standard') = 'standard'
        returning id
      )
      insert into app.job_telemetry (queue, job_id, event, attempt, request_id)
      select ${queue}, id, 'queued', 0, ${requestId}
      from job
      returning job_id
    `
    if (rows.length !== 1)
      throw new Error(`queue ${queue} refused the job: it is missing or not a standard-policy queue`)
    return id
  }
  // Singletons and other options go through pg-boss; a throttled singleton is refused (null):
  // then there is no job, and no telemetry row either.
  const sent = await boss.send(
    queue,
    { ...data, requestId },
    { ...options, id, db: fromPostgresJs(tx, { prepare: true }) }
  )
  if (sent) {
    await insertLifecycle(tx, [
      { queue, job_id: id, event: 'queued', attempt: 0, duration_ms: null, error_message: null, request_id: requestId }
    ])
  }
  return sent
}

export type JobHandler<T> = (job: JobWithMetadata<T>) => Promise<unknown>

/**
 * Wraps a per-job handler for a batch worker: writes running/completed/failed/retry rows,
 * and turns each outcome into pg-boss's per-job result (a PermanentJobError dead-letters).
 */
export interface TelemetryHooks<T> {
  /** Every failed attempt (for logging). */
  onError?: (err: Error, job: JobWithMetadata<T>) => void
  /** A failure that will not be retried: the handler's chance to mark its domain row failed. */
  onFinalFailure?: (err: Error, job: JobWithMetadata<T>) => Promise<void>
}

export function withJobTelemetry<T extends Traced>(
  sql: Sql,
  queue: string,
  handle: JobHandler<T>,
  hooks: TelemetryHooks<T> = {},
  /** Jobs of a batch in progress at once: 1 for handlers that compute on this thread. */
  concurrency = 1
) {
  return async function handleBatch(jobs: JobWithMetadata<T>[]): Promise<JobResult[]> {
    const requestIdOf = (job: JobWithMetadata<T>) =>
      typeof job.data?.requestId === 'string' ? job.data.requestId : null
    await insertLifecycle(
      sql,
      jobs.map((job) => ({
        queue,
        job_id: job.id,
        event: 'running',
        attempt: job.retryCount + 1,
        duration_ms: null,
        error_message: null,
        request_id: requestIdOf(job)
      }))
    )
    const runOne = async (job: JobWithMetadata<T>): Promise<{ result: JobResult; row: LifecycleRow }> => {
      const started = performance.now()
      const base = { queue, job_id: job.id, attempt: job.retryCount + 1, request_id: requestIdOf(job) }
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
