import type { Sql, TransactionSql } from '../db/client.ts'
import type { LockoutPolicy } from './lockout.ts'
import { userIdByEmail } from './users.ts'

// Browsers that signed in (the device cookie's rows, src/routes/auth/device.ts): a known device's
// failures count here only.

/** A device that has not signed in for this long is a stranger again (its cookie lives as long). */
export const DEVICE_TTL_DAYS = 180
/** Devices remembered per user: the least recently used goes when another signs in. */
export const MAX_DEVICES_PER_USER = 10

/** What a valid cookie says: the account it signed in to, and the hash of its device id (as stored). */
export interface DeviceClaim {
  userId: string
  deviceHash: string
}

/**
 * The claimed device, if it signed in to the account of `email` within DEVICE_TTL_DAYS and is not
 * locked: a locked device is a stranger (its address's and the account's limits apply) until then.
 */
export async function knownDevice(sql: Sql, email: string, claim: DeviceClaim, now: Date): Promise<DeviceClaim | null> {
  const [row] = await sql<{ user_id: string }[]>`
    select d.user_id
    from app.login_devices d
    where d.user_id = ${userIdByEmail(sql, email)}
      and d.user_id = ${claim.userId}
      and d.device_hash = ${claim.deviceHash}
      and d.last_login_at > ${now}::timestamptz - make_interval(days => ${DEVICE_TTL_DAYS})
      and (d.locked_until is null or d.locked_until <= ${now})
  `
  return row ? claim : null
}

/** A successful sign-in from the device: remembered (its failures cleared), the user's oldest past the limit forgotten. */
export async function rememberDevice(tx: TransactionSql, device: DeviceClaim, now: Date): Promise<void> {
  await tx`
    insert into app.login_devices as d (user_id, device_hash, created_at, last_login_at)
    values (${device.userId}, ${device.deviceHash}, ${now}, ${now})
    on conflict (user_id, device_hash) do update
    set last_login_at = ${now}, failed_count = 0, window_started_at = null, locked_until = null
  `
  await tx`
    delete from app.login_devices
    where user_id = ${device.userId}
      and device_hash in (
        select device_hash
        from app.login_devices
        where user_id = ${device.userId}
        order by last_login_at desc, created_at desc
        offset ${MAX_DEVICES_PER_USER}
      )
  `
}

/** Counts a failure from a known device (windowed like a client's); at maxAttempts it is locked. */
export async function recordDeviceFailure(
  sql: Sql,
  device: DeviceClaim,
  now: Date,
  policy: LockoutPolicy
): Promise<{ failures: number; lockedUntil: Date | null; justLocked: boolean }> {
  const windowStart = new Date(now.getTime() - policy.attemptWindowMinutes * 60_000)
  const lockUntil = new Date(now.getTime() + policy.lockoutMinutes * 60_000)
  const fresh = sql`(d.window_started_at is null or d.window_started_at < ${windowStart})`
  const [row] = await sql<{ failed_count: number; locked_until: Date | null }[]>`
    update app.login_devices as d
    set failed_count = (case when ${fresh} then 0 else d.failed_count end) + 1,
        window_started_at = case when ${fresh} then ${now} else d.window_started_at end,
        locked_until = case
          when (case when ${fresh} then 0 else d.failed_count end) + 1 >= ${policy.maxAttempts}::int
          then ${lockUntil}::timestamptz
          else d.locked_until
        end
    where d.user_id = ${device.userId}
      and d.device_hash = ${device.deviceHash}
    returning d.failed_count, d.locked_until
  `
  if (!row) return { failures: 0, lockedUntil: null, justLocked: false }
  const lockedUntil = row.locked_until && row.locked_until > now ? row.locked_until : null
  return { failures: row.failed_count, lockedUntil, justLocked: row.locked_until?.getTime() === lockUntil.getTime() }
}

/** Forgets every device of the user but `keep` (a password change, logout everywhere). */
export async function forgetDevices(tx: TransactionSql, userId: string, keep: DeviceClaim | null): Promise<void> {
  await tx`
    delete from app.login_devices
    where user_id = ${userId}
      ${keep?.userId === userId ? tx`and device_hash <> ${keep.deviceHash}` : tx``}
  `
}
