import type { Sql, TransactionSql } from '../../db/client.ts'

export interface LockoutPolicy {
  maxAttempts: number
  attemptWindowMinutes: number
  lockoutMinutes: number
}

/** The row that counts an email's failures from every client. */
const EVERY_CLIENT = '*'
/** Past maxAttempts × this many failures for one email from all clients, its logins are slowed. */
const EMAIL_CEILING_FACTOR = 4
const MAX_DELAY_SECONDS = 60

export interface LoginGate {
  /** This client is locked out of the email until then (423). */
  lockedUntil: Date | null
  /** Every client must wait until then before trying the email again (429). */
  retryAt: Date | null
}

/** What stands between a client and a login attempt for an email at `now`. */
export async function loginGate(sql: Sql, email: string, client: string, now: Date): Promise<LoginGate> {
  const rows = await sql<{ client_key: string; locked_until: Date | null; next_attempt_at: Date | null }[]>`
    select client_key, locked_until, next_attempt_at
    from app.login_lockouts
    where email_normalized = ${email}
      and client_key in (${client}, ${EVERY_CLIENT})
  `
  const own = rows.find((r) => r.client_key === client)
  const all = rows.find((r) => r.client_key === EVERY_CLIENT)
  return {
    lockedUntil: own?.locked_until && own.locked_until > now ? own.locked_until : null,
    retryAt: all?.next_attempt_at && all.next_attempt_at > now ? all.next_attempt_at : null
  }
}

/**
 * Counts a failed login atomically for the (email, client) pair and for the email from every
 * client (upserts, so instances racing on one email agree): the pair locks at maxAttempts; the
 * email-wide count past its ceiling sets a delay that doubles per failure. Returns the client's
 * new lock, if any.
 */
export async function recordFailure(
  sql: Sql | TransactionSql,
  email: string,
  client: string,
  now: Date,
  policy: LockoutPolicy
): Promise<{ failures: number; lockedUntil: Date | null; justLocked: boolean }> {
  const windowStart = new Date(now.getTime() - policy.attemptWindowMinutes * 60_000)
  const lockUntil = new Date(now.getTime() + policy.lockoutMinutes * 60_000)
  const ceiling = policy.maxAttempts * EMAIL_CEILING_FACTOR
  const rows = await sql<
    { client_key: string; failed_count: number; locked_until: Date | null; just_locked: boolean }[]
  >`
    insert into app.login_lockouts as l
      (email_normalized, client_key, failed_count, window_started_at, locked_until, next_attempt_at, updated_at)
    values
      (${email}, ${client}, 1, ${now}, case when 1 >= ${policy.maxAttempts}::int then ${lockUntil}::timestamptz end, null, ${now}),
      (${email}, ${EVERY_CLIENT}, 1, ${now}, null, null, ${now})
    on conflict (email_normalized, client_key) do update
    set failed_count = (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1,
        window_started_at = case when l.window_started_at < ${windowStart} then ${now} else l.window_started_at end,
        locked_until = case
          when l.client_key <> ${EVERY_CLIENT}
           and (l.locked_until is null or l.locked_until <= ${now})
           and (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1 >= ${policy.maxAttempts}::int
          then ${lockUntil}::timestamptz
          else l.locked_until
        end,
        next_attempt_at = case
          when l.client_key = ${EVERY_CLIENT}
           and (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1 >= ${ceiling}::int
          then ${now}::timestamptz + least(
            ${MAX_DELAY_SECONDS}::int,
            power(2, least(10, (case when l.window_started_at < ${windowStart} then 0 else l.failed_count end) + 1 - ${ceiling}::int))
          ) * interval '1 second'
          else null
        end,
        updated_at = ${now}
    returning client_key, failed_count, locked_until, locked_until = ${lockUntil}::timestamptz as just_locked
  `
  const row = rows.find((r) => r.client_key === client) ?? rows[0]
  const lockedUntil = row.locked_until && row.locked_until > now ? row.locked_until : null
  return { failures: row.failed_count, lockedUntil, justLocked: row.just_locked }
}

/** Clears one client's failures for the email (a successful login), or every client's (an unlock). */
export async function clearFailures(sql: Sql | TransactionSql, email: string, client?: string): Promise<boolean> {
  const rows = await sql`
    delete from app.login_lockouts
    where email_normalized = ${email}
      ${client === undefined ? sql`` : sql`and client_key = ${client}`}
    returning email_normalized
  `
  return rows.length > 0
}
