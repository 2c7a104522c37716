import type { Sql, TransactionSql } from '../../db/client.ts'

export interface LockoutPolicy {
  maxAttempts: number
  attemptWindowMinutes: number
  lockoutMinutes: number
}

/** The lock in force for an email at `now`, if any. */
export async function activeLock(sql: Sql, email: string, now: Date): Promise<Date | null> {
  const [row] = await sql<{ locked_until: Date }[]>`
    select locked_until
    from app.login_lockouts
    where email_normalized = ${email}
      and locked_until > ${now}
  `
  return row?.locked_until ?? null
}

/**
 * Counts a failed login atomically (one upsert, so instances racing on one email agree) and
 * locks the email when the window's count reaches the maximum. Returns the new lock, if any.
 */
export async function recordFailure(
  sql: Sql | TransactionSql,
  email: string,
  now: Date,
  policy: LockoutPolicy
): Promise<{ failures: number; lockedUntil: Date | null; justLocked: boolean }> {
  const windowStart = new Date(now.getTime() - policy.attemptWindowMinutes * 60_000)
  const lockUntil = new Date(now.getTime() + policy.lockoutMinutes * 60_000)
  const [row] = await sql<{ failed_count: number; locked_until: Date | null; just_locked: boolean }[]>`
    insert into app.login_lockouts as l (email_normalized, failed_count, window_started_at, locked_until, updated_at)
    values (
      ${email}, 1, ${now},
      case when 1 >= ${policy.maxAttempts}::int then ${lockUntil}::timestamptz end,
      ${now}
    )
    on conflict (email_normalized) do update
    set failed_count = (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1,
        window_started_at = case when l.window_started_at < ${windowStart} then ${now} else l.window_started_at end,
        locked_until = case
          when (l.locked_until is null or l.locked_until <= ${now})
           and (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1 >= ${policy.maxAttempts}::int
          then ${lockUntil}::timestamptz
          else l.locked_until
        end,
        updated_at = ${now}
    returning failed_count, locked_until, locked_until = ${lockUntil}::timestamptz as just_locked
  `
  const lockedUntil = row.locked_until && row.locked_until > now ? row.locked_until : null
  return { failures: row.failed_count, lockedUntil, justLocked: row.just_locked }
}

export async function clearFailures(sql: Sql | TransactionSql, email: string): Promise<boolean> {
  const rows = await sql`
    delete from app.login_lockouts
    where email_normalized = ${email}
    returning email_normalized
  `
  return rows.length > 0
}
