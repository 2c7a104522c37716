import { createHmac } from 'node:crypto'
import type { Sql, TransactionSql } from '../db/client.ts'
import { deriveKey } from './accounts.ts'
import { userIdByEmail } from './users.ts'

export interface LockoutPolicy {
  maxAttempts: number
  attemptWindowMinutes: number
  lockoutMinutes: number
}

/** The row that counts an email's failures from every client. */
const EVERY_CLIENT = '*'
/** Past maxAttempts × this many failures for one email from all clients, unknown clients are challenged. */
const EMAIL_CEILING_FACTOR = 4

export interface LoginGate {
  /** This client is locked out of the email until then (423). */
  lockedUntil: Date | null
  /** The email's failures from every client passed the ceiling: an unknown client is challenged. */
  challenged: boolean
}

/** What stands between an unknown client and a login attempt for an email at `now`. */
export async function loginGate(
  sql: Sql,
  email: string,
  client: string,
  now: Date,
  policy: LockoutPolicy
): Promise<LoginGate> {
  const windowStart = new Date(now.getTime() - policy.attemptWindowMinutes * 60_000)
  const rows = await sql<
    { client_key: string; locked_until: Date | null; failed_count: number; window_started_at: Date }[]
  >`
    select client_key, locked_until, failed_count, window_started_at
    from app.login_lockouts
    where email_normalized = ${email}
      and client_key in (${client}, ${EVERY_CLIENT})
  `
  const own = rows.find((r) => r.client_key === client)
  const all = rows.find((r) => r.client_key === EVERY_CLIENT)
  return {
    lockedUntil: own?.locked_until && own.locked_until > now ? own.locked_until : null,
    challenged:
      all !== undefined &&
      all.window_started_at >= windowStart &&
      all.failed_count >= policy.maxAttempts * EMAIL_CEILING_FACTOR
  }
}

/**
 * Counts a failed login atomically for the (email, client) pair and for the email from every
 * client (upserts, so instances racing on one email agree): the pair locks at maxAttempts; the
 * email-wide count only decides whether unknown clients are challenged. Returns the client's new
 * lock, if any.
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
  const rows = await sql<
    { client_key: string; failed_count: number; locked_until: Date | null; just_locked: boolean }[]
  >`
    insert into app.login_lockouts as l
      (email_normalized, client_key, failed_count, window_started_at, locked_until, updated_at)
    values
      (${email}, ${client}, 1, ${now}, case when 1 >= ${policy.maxAttempts}::int then ${lockUntil}::timestamptz end, ${now}),
      (${email}, ${EVERY_CLIENT}, 1, ${now}, null, ${now})
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
        updated_at = ${now}
    returning client_key, failed_count, locked_until, locked_until = ${lockUntil}::timestamptz as just_locked
  `
  const row = rows.find((r) => r.client_key === client) ?? rows[0]
  const lockedUntil = row.locked_until && row.locked_until > now ? row.locked_until : null
  return { failures: row.failed_count, lockedUntil, justLocked: row.just_locked }
}

/**
 * Clears one client's failures for the email (a successful login), or every client's and every
 * device's of its account (an unlock). Returns whether there was anything to clear.
 */
export async function clearFailures(sql: Sql | TransactionSql, email: string, client?: string): Promise<boolean> {
  const rows = await sql`
    delete from app.login_lockouts
    where email_normalized = ${email}
      ${client === undefined ? sql`` : sql`and client_key = ${client}`}
    returning email_normalized
  `
  if (client !== undefined) return rows.length > 0
  const devices = await sql`
    update app.login_devices
    set failed_count = 0, window_started_at = null, locked_until = null
    where user_id = ${userIdByEmail(sql, email)}
      and failed_count > 0
    returning user_id
  `
  return rows.length + devices.length > 0
}

/**
 * What a login's audit row keeps of the email (`loginHash`): an HMAC under a key derived from the JWT
 * secret, so an operator who knows an address can find its failures, and nobody can read one back.
 */
export function loginHasher(secret: string): (emailNormalized: string) => string {
  const key = deriveKey(secret, 'audit email v1')
  return (emailNormalized) => createHmac('sha256', key).update(emailNormalized).digest('hex')
}
