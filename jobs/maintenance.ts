import type { JobWithMetadata } from 'pg-boss'
import { deleteExpiredRefusals } from '../src/audit/refusals.ts'
import type { Config } from '../src/config.ts'
import type { Sql } from '../src/db/client.ts'
import { deleteOldExports } from '../src/exports/store.ts'
import { type JobData, MaintenanceJob } from '../src/queue/messages.ts'
import { analyzeJobs } from '../src/queue/statements.ts'
import { deleteSurplusRuns } from '../src/runs/runs.ts'
import { defineJob } from './define.ts'

/** Runs every 15 minutes from the worker's schedule. */
export const SCHEDULE = '*/15 * * * *'
/** Daily telemetry partitions are kept this many days ahead. */
export const PARTITION_DAYS_AHEAD = 3

function hold(ms: number, signal: AbortSignal): Promise<void> {
  // A zero hold returns at once: setTimeout(0) waits a millisecond, which would cap the probes
  // a worker completes one after another at a thousand a second.
  if (ms === 0) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** How long a client may retry with the same Idempotency-Key and get the first response. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24

/** Creates partitions ahead and drops those past retention; returns what it did. */
export async function maintainPartitions(sql: Sql, today: Date, retentionDays: number) {
  const day = today.toISOString().slice(0, 10)
  const [{ created }] = await sql<{ created: number }[]>`
    select app.ensure_telemetry_partitions(${day}::date, ${PARTITION_DAYS_AHEAD + 1}) as created
  `
  const [{ dropped }] = await sql<{ dropped: number }[]>`
    select app.drop_telemetry_partitions(${day}::date, ${retentionDays}) as dropped
  `
  return { created, dropped }
}

/** Forgets Idempotency-Keys past their retention; returns how many. */
export async function maintainIdempotencyKeys(sql: Sql): Promise<number> {
  const expired = await sql`
    delete from app.idempotency_keys
    where created_at < now() - make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})
  `
  return expired.count
}

/**
 * Deletes login-failure rows whose window and lock are both over (kept `keepMinutes` after their
 * last failure): failures against unknown emails do not pile up. Returns how many.
 */
export async function maintainLoginFailures(sql: Sql, keepMinutes: number): Promise<number> {
  const expired = await sql`
    delete from app.login_lockouts
    where updated_at < now() - make_interval(mins => ${keepMinutes})
      and (locked_until is null or locked_until < now())
      and (next_attempt_at is null or next_attempt_at < now())
  `
  return expired.count
}

/** Rows one maintenance pass deletes of each kind at most: a backlog is cleared over a few passes. */
export const RETENTION_BATCH = 5000

/** Single-use link tokens (the hashes of emailed links): kept a day past their expiry, then deleted. */
const LINK_TOKENS = ['email_verification_tokens', 'login_link_tokens', 'password_reset_tokens'] as const

/**
 * What is kept, and what is not: refresh tokens whose family has expired, and emailed links' tokens
 * a day past their expiry; exports older than
 * `exportDays` (the report can be made again); and each workspace's runs past its newest
 * `runsPerWorkspace`, except a run that is queued or running, or that a grade refers to (it stays
 * as long as its grade: the grade reads it). Each kind at most RETENTION_BATCH rows a pass.
 */
export async function applyRetention(sql: Sql, { exportDays, runsPerWorkspace }: Config['retention']) {
  const tokens = await sql`
    delete from app.refresh_tokens
    where id in (
      select id
      from app.refresh_tokens
      where family_expires_at < now()
      limit ${RETENTION_BATCH}
    )
  `
  const exportsExpired = await deleteOldExports(sql, exportDays, RETENTION_BATCH)
  const runsDeleted = await deleteSurplusRuns(sql, runsPerWorkspace, RETENTION_BATCH)
  let linkTokensExpired = 0
  for (const table of LINK_TOKENS) {
    const expired = await sql`
      delete from ${sql(`app.${table}`)}
      where token_hash in (
        select token_hash
        from ${sql(`app.${table}`)}
        where expires_at < now() - interval '1 day'
        limit ${RETENTION_BATCH}
      )
    `
    linkTokensExpired += expired.count
  }
  return {
    refreshTokensExpired: tokens.count,
    linkTokensExpired,
    exportsExpired,
    runsExpired: runsDeleted
  }
}

export function createHandler(
  sql: Sql,
  {
    retentionDays,
    loginFailureKeepMinutes = 60,
    retention
  }: { retentionDays: number; loginFailureKeepMinutes?: number; retention?: Config['retention'] }
) {
  return async function maintenance(job: JobWithMetadata<JobData<typeof MaintenanceJob>>): Promise<unknown> {
    const data = job.data
    if (data.task === 'probe') {
      await hold(data.holdMs ?? 0, job.signal)
      return { task: 'probe', pid: process.pid, completedAt: new Date().toISOString() }
    }
    const partitions = await maintainPartitions(sql, new Date(), retentionDays)
    const idempotencyKeysExpired = await maintainIdempotencyKeys(sql)
    const loginFailuresExpired = await maintainLoginFailures(sql, loginFailureKeepMinutes)
    const auditRefusalsExpired = await deleteExpiredRefusals(sql)
    const retained = retention ? await applyRetention(sql, retention) : {}
    await analyzeJobs(sql)
    return {
      task: 'housekeeping',
      ...partitions,
      idempotencyKeysExpired,
      loginFailuresExpired,
      auditRefusalsExpired,
      ...retained
    }
  }
}

export const job = defineJob({
  message: MaintenanceJob,
  options: {
    retryLimit: 2,
    retryDelay: 30,
    expireInSeconds: 15 * 60,
    policy: 'standard',
    deadLetter: 'maintenance_dead'
  },
  create: ({ sql, config }) => ({
    handle: createHandler(sql, {
      retentionDays: config.telemetryRetentionDays,
      retention: config.retention,
      loginFailureKeepMinutes: Math.max(config.login.attemptWindowMinutes, config.login.lockoutMinutes)
    })
  })
})
