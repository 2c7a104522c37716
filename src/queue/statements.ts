import type { GroupOptions } from 'pg-boss'
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
 * A plain job (with its group, if any) and its `queued` telemetry row in one statement: the row
 * pg-boss's `send` would write (the columns of pg-boss 12.35's insertJobs). pg-boss's own insert reads its options
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
  traceId: string | null,
  group: GroupOptions | undefined
) {
  return tx`
      with job as (
        insert into pgboss.job
          (id, name, data, group_id, group_tier, start_after, created_on, keep_until, expire_seconds,
           deletion_seconds, retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, dead_letter,
           heartbeat_seconds)
        select ${id}, q.name, ${tx.json(data as never)}, ${group?.id ?? null}::text, ${group?.tier ?? null}::text,
          pgboss.job_now(), pgboss.job_now(),
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

export interface QueueWaits {
  queue: string
  /** Jobs per bucket: index i counts waits in (bounds[i-1], bounds[i]]; the last, waits past every bound. */
  buckets: number[]
  count: number
  sum: number
}

/**
 * How long the first attempts that started in the last 15 minutes waited in their queue, from
 * their `queued` row to their `running` row (job telemetry, so jobs sent past enqueueJob are not
 * counted), per queue in `bounds` buckets (seconds, ascending).
 */
export async function queueWaits15m(sql: Sql, bounds: readonly number[]): Promise<QueueWaits[]> {
  const rows = await sql<{ queue: string; bucket: number; jobs: number; seconds: number }[]>`
    with waits as (
      select r.queue, extract(epoch from r.created_at - q.created_at)::float8 as seconds
      from app.job_telemetry r
      join app.job_telemetry q on q.job_id = r.job_id and q.event = 'queued'
      where r.event = 'running'
        and r.attempt = 1
        and r.created_at > now() - interval '15 minutes'
    )
    select w.queue, b.bucket, count(*)::int as jobs, sum(w.seconds)::float8 as seconds
    from waits w
    cross join lateral (
      select count(*)::int as bucket from unnest(${pgArray([...bounds])}::float8[]) as bound where bound < w.seconds
    ) b
    group by w.queue, b.bucket
  `
  const byQueue = new Map<string, QueueWaits>()
  for (const row of rows) {
    let waits = byQueue.get(row.queue)
    if (!waits) {
      waits = { queue: row.queue, buckets: new Array(bounds.length + 1).fill(0), count: 0, sum: 0 }
      byQueue.set(row.queue, waits)
    }
    waits.buckets[row.bucket] += row.jobs
    waits.count += row.jobs
    waits.sum += row.seconds
  }
  return [...byQueue.values()]
}

/**
 * Per queue, the groups (users, on the simulation queue) with a job running, and those with jobs
 * waiting and none running: the ones a worker's next fetch takes a job of.
 */
export function queueGroups(sql: Sql, queues: readonly string[]) {
  return sql<{ queue: string; active: number; waiting: number }[]>`
    select q.name as queue,
      (
        select count(distinct a.group_id)::int
        from pgboss.job a
        where a.name = q.name and a.state = 'active' and a.group_id is not null
      ) as active,
      (
        select count(distinct w.group_id)::int
        from pgboss.job w
        where w.name = q.name and w.state < 'active' and not w.blocked and w.group_id is not null
          and not exists (
            select 1
            from pgboss.job a
            where a.name = w.name and a.state = 'active' and a.group_id = w.group_id
          )
      ) as waiting
    from pgboss.queue q
    where q.name = any(${pgArray([...queues])}::text[])
  `
}
