import { type Fragment, pgArray, type Sql, type TransactionSql } from '../db/client.ts'
import type { LifecycleRow } from './jobs.ts'

// Every statement of this app that reads or writes pg-boss's tables, beside the adapter
// (src/queue/boss.ts). They follow pg-boss 12.35's own statements (the version is pinned
// exactly); test/jobs/telemetry.test.ts holds the hand-written insert to the row `send` writes.

export async function insertLifecycle(sql: Sql | TransactionSql, rows: LifecycleRow[]): Promise<void> {
  if (rows.length === 0) return
  const column = <K extends keyof LifecycleRow>(key: K) => pgArray(rows.map((r) => r[key]))
  await sql`
    insert into app.job_telemetry (queue, job_id, event, attempt, duration_ms, error_message, request_id, trace_id)
    select *
    from unnest(
      ${column('queue')}::text[], ${column('job_id')}::uuid[], ${column('event')}::text[], ${column('attempt')}::int[],
      ${column('duration_ms')}::float8[], ${column('error_message')}::text[], ${column('request_id')}::text[],
      ${column('trace_id')}::text[]
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
export async function completeWithTelemetry(
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
    request_id: r.request_id,
    trace_id: r.trace_id
  }))
  await sql`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)})
        as x(id uuid, retry_count int, output jsonb, attempt int, duration_ms float8, request_id text, trace_id text)
    ),
    settled as (
      update pgboss.job j
      set completed_on = pgboss.job_now(), state = 'completed', output = i.output
      from input i
      where j.name = ${queue} and j.id = i.id and j.state = 'active' and j.retry_count = i.retry_count
      returning j.id
    )
    insert into app.job_telemetry (queue, job_id, event, attempt, duration_ms, request_id, trace_id)
    select ${queue}, i.id, 'completed', i.attempt, i.duration_ms, i.request_id, i.trace_id
    from input i join settled s on s.id = i.id
  `
}

/**
 * A plain job and its `queued` telemetry row in one statement: the row pg-boss's `send` would
 * write (the columns of pg-boss 12.35's insertJobs). pg-boss's own insert reads its options
 * through json_to_recordset and inserts speculatively (ON CONFLICT DO NOTHING for its singleton
 * policies), about 70 µs of database time per job more. Only for a standard-policy queue: it
 * returns no row for another (or a missing) queue.
 */
export function insertPlainJob(
  tx: TransactionSql,
  queue: string,
  id: string,
  data: Record<string, unknown>,
  requestId: string | null,
  traceId: string | null
) {
  return tx`
      with job as (
        insert into pgboss.job
          (id, name, data, start_after, created_on, keep_until, expire_seconds, deletion_seconds, retry_limit,
           retry_delay, retry_backoff, retry_delay_max, policy, dead_letter, heartbeat_seconds)
        select ${id}, q.name, ${tx.json(data as never)}, pgboss.job_now(), pgboss.job_now(),
          pgboss.job_now() + q.retention_seconds * interval '1 second', q.expire_seconds, q.deletion_seconds,
          q.retry_limit, q.retry_delay, coalesce(q.retry_backoff, false), q.retry_delay_max, q.policy, q.dead_letter,
          q.heartbeat_seconds
        from pgboss.queue q
        where q.name = ${queue}
          and coalesce(q.policy, 'standard') = 'standard'
        returning id
      )
      insert into app.job_telemetry (queue, job_id, event, attempt, request_id, trace_id)
      select ${queue}, id, 'queued', 0, ${requestId}, ${traceId}
      from job
      returning job_id
    `
}

export interface JobRow {
  id: string
  name: string
  state: string
  retry_count: number
  retry_limit: number
  created_on: Date
  started_on: Date | null
  completed_on: Date | null
  output: unknown
}

/**
 * The newest jobs of these queues, optionally in one state, after `after` (a keyset fragment on
 * (created_on, id)): the admin API's list, one row more than its page.
 */
export function listJobs(
  sql: Sql,
  queues: readonly string[],
  state: string | undefined,
  after: Fragment,
  limit: number
) {
  return sql<JobRow[]>`
    select id, name, state::text as state, retry_count, retry_limit, created_on, started_on, completed_on, output
    from pgboss.job
    where name = any(${pgArray([...queues])}::text[])
      ${state ? sql`and state = ${state}::pgboss.job_state` : sql``}
      ${after}
    order by created_on desc, id desc
    limit ${limit + 1}
  `
}

/** Bulk inserts leave the job table's statistics stale, and fetches slow down badly without them. */
export async function analyzeJobs(sql: Sql): Promise<void> {
  await sql`analyze pgboss.job`
}

/** Failed jobs of a queue that failed after `since` (the CLI's batch retry). */
export function failedJobsSince(sql: Sql, queue: string, since: Date) {
  return sql<{ id: string; completed_on: Date }[]>`
    select id, completed_on
    from pgboss.job
    where name = ${queue} and state = 'failed' and completed_on >= ${since}
    order by completed_on
  `
}
