import type { Fragment, Sql, TransactionSql } from '../db/client.ts'
import { exportCountOf } from '../exports/store.ts'
import { gradeCountOf } from '../runs/grades.ts'
import { runCountOf } from '../runs/runs.ts'
import { deleteWorkspacesOf, workspaceCountOf } from '../workspaces/shared.ts'
import { normalizeEmail } from './accounts.ts'

// The statements on app.users, and the emailed tokens that verify an address, sign a user in or
// reset a password.

/** `(select id …)`: the id of the user with this normalised email, as a value of the caller's query. */
export const userIdByEmail = (sql: Sql | TransactionSql, emailNormalized: string): Fragment =>
  sql`(select id from app.users where email_normalized = ${emailNormalized})`

/**
 * `join lateral (…) u on true`: the name and address of the user whose id the outer query's column
 * `userId` holds (`m.user_id`), as `u.display_name` and `u.email`.
 */
export const userNameJoin = (sql: Sql | TransactionSql, userId: string): Fragment => sql`
  join lateral (
    select display_name, email
    from app.users
    where id = ${sql(userId)}
  ) u on true
`

/** A user as the auth routes answer it (toUser) and the token pair claims it. */
export interface UserRow {
  id: string
  email: string
  display_name: string
  role: 'user' | 'admin'
  email_verified_at: Date | null
  created_at: Date
  token_version?: number
}

const USER_COLUMNS = ['id', 'email', 'display_name', 'role', 'email_verified_at', 'created_at'] as const

/**
 * A new account (a sign-up, the CLI's user:create, a test's user); none (undefined) when the
 * normalised email is taken. Its display name defaults to the address's local part.
 */
export async function insertUser(
  db: Sql | TransactionSql,
  user: { email: string; passwordHash: string; role?: 'user' | 'admin'; displayName?: string }
): Promise<UserRow | undefined> {
  const email = user.email.trim()
  const [row] = await db<UserRow[]>`
    insert into app.users ${db({
      email,
      email_normalized: normalizeEmail(email),
      display_name: user.displayName ?? email.split('@')[0],
      password_hash: user.passwordHash,
      role: user.role ?? 'user'
    })}
    on conflict (email_normalized) do nothing
    returning ${db(USER_COLUMNS)}
  `
  return row
}

/** The account a login names (by its normalised email), or a sign-in link's (by id). */
export async function userForLogin(sql: Sql, by: { email: string } | { id: string }) {
  const [user] = await sql<(UserRow & { password_hash: string; disabled_at: Date | null })[]>`
    select ${sql(USER_COLUMNS)}, password_hash, disabled_at, token_version
    from app.users
    where ${'email' in by ? sql`email_normalized = ${by.email}` : sql`id = ${by.id}`}
  `
  return user
}

/** The user a refresh token belongs to, unless the account is disabled. */
export async function activeUser(tx: TransactionSql, id: string) {
  const [user] = await tx<UserRow[]>`
    select ${tx(USER_COLUMNS)}, token_version
    from app.users
    where id = ${id}
      and disabled_at is null
  `
  return user
}

export async function userById(sql: Sql, id: string) {
  const [user] = await sql<UserRow[]>`select ${sql(USER_COLUMNS)} from app.users where id = ${id}`
  return user
}

export async function passwordHashOf(sql: Sql, id: string): Promise<string | null> {
  const [user] = await sql<{ password_hash: string }[]>`select password_hash from app.users where id = ${id}`
  return user?.password_hash ?? null
}

/** Ends every access token the user holds: their version is checked on every request. */
export async function endAccessTokens(tx: TransactionSql, id: string): Promise<void> {
  await tx`update app.users set token_version = token_version + 1, updated_at = now() where id = ${id}`
}

/** A new password ends every access token too. */
export async function setPassword(tx: TransactionSql, id: string, passwordHash: string): Promise<void> {
  await tx`
    update app.users
    set password_hash = ${passwordHash}, token_version = token_version + 1, updated_at = now()
    where id = ${id}
  `
}

/** Uses a verification token (single use, expiring); its user, or none. */
export async function useVerificationToken(tx: TransactionSql, tokenHash: string, now: Date): Promise<string | null> {
  const [token] = await tx<{ user_id: string }[]>`
    update app.email_verification_tokens
    set used_at = ${now}
    where token_hash = ${tokenHash}
      and used_at is null
      and expires_at > ${now}
    returning user_id
  `
  return token?.user_id ?? null
}

export async function markVerified(tx: TransactionSql, userId: string, now: Date): Promise<void> {
  await tx`update app.users set email_verified_at = coalesce(email_verified_at, ${now}), updated_at = now() where id = ${userId}`
}

/** An unverified, enabled account with this email (the resend route's only candidate). */
export async function unverifiedUser(tx: TransactionSql, emailNormalized: string): Promise<string | null> {
  const [user] = await tx<{ id: string }[]>`
    select id
    from app.users
    where email_normalized = ${emailNormalized}
      and email_verified_at is null
      and disabled_at is null
  `
  return user?.id ?? null
}

/**
 * Uses a sign-in link's token (single use, expiring): its user, or none. The user's other links
 * are deleted with it, so a mailbox's older links stop working once one is used.
 */
export async function useLoginLinkToken(tx: TransactionSql, tokenHash: string, now: Date): Promise<string | null> {
  const [token] = await tx<{ user_id: string }[]>`
    update app.login_link_tokens
    set used_at = ${now}
    where token_hash = ${tokenHash}
      and used_at is null
      and expires_at > ${now}
    returning user_id
  `
  if (!token) return null
  await tx`delete from app.login_link_tokens where user_id = ${token.user_id} and token_hash <> ${tokenHash}`
  return token.user_id
}

/** What the auth check needs to know of a user now; looked up by the app (cached briefly). */
export interface UserState {
  tokenVersion: number
  disabled: boolean
  /** The role now: a token's role claim is never trusted alone (a demoted admin's token is a user's). */
  role: 'user' | 'admin'
  /** The token's session was ended (logout, logout-all, or a reused refresh token). */
  sessionRevoked: boolean
}

/** What ends an access token early: its user's token version, disabled flag and role, and whether its session is over. */
export async function loadUserState(sql: Sql, userId: string, sessionId: string | null): Promise<UserState | null> {
  const [row] = await sql<{ token_version: number; disabled: boolean; role: 'user' | 'admin'; revoked: boolean }[]>`
    select u.token_version, u.disabled_at is not null as disabled, u.role,
           ${sessionId}::uuid is not null and not exists (
             select 1 from app.refresh_tokens r where r.family_id = ${sessionId}::uuid and r.revoked_at is null
           ) as revoked
    from app.users u
    where u.id = ${userId}
  `
  return row
    ? { tokenVersion: row.token_version, disabled: row.disabled, role: row.role, sessionRevoked: row.revoked }
    : null
}

/**
 * Uses a reset token: single use, expiring, of an enabled account; its user, or none. An unknown,
 * used or expired token all fail the same way.
 */
export async function useResetToken(tx: TransactionSql, tokenHash: string, now: Date): Promise<string | null> {
  const [token] = await tx<{ user_id: string }[]>`
    update app.password_reset_tokens t
    set used_at = ${now}
    from app.users u
    where t.token_hash = ${tokenHash}
      and t.used_at is null
      and t.expires_at > ${now}
      and u.id = t.user_id
      and u.disabled_at is null
    returning t.user_id
  `
  return token?.user_id ?? null
}

/** A reset spends every other link mailed to the user: reset links, and sign-in links the old password earned. */
export async function spendEmailedLinks(tx: TransactionSql, userId: string, now: Date): Promise<void> {
  await tx`update app.password_reset_tokens set used_at = ${now} where user_id = ${userId} and used_at is null`
  await tx`update app.login_link_tokens set used_at = ${now} where user_id = ${userId} and used_at is null`
}

/** The account an email names, if any (the reset request's and the sign-up's only candidate). */
export async function accountByEmail(
  sql: Sql | TransactionSql,
  emailNormalized: string
): Promise<{ id: string; disabled: boolean } | undefined> {
  const [user] = await sql<{ id: string; disabled: boolean }[]>`
    select id, disabled_at is not null as disabled
    from app.users
    where email_normalized = ${emailNormalized}
  `
  return user
}

/** Whom a mail goes to: the address, whether it is verified, whether the account is disabled; none when deleted. */
export async function recipientOf(sql: Sql, id: string): Promise<Recipient | undefined> {
  const [user] = await sql<Recipient[]>`
    select email, email_verified_at is not null as verified, disabled_at is not null as disabled
    from app.users
    where id = ${id}
  `
  return user
}

export interface Recipient {
  email: string
  verified: boolean
  disabled: boolean
}

export async function userEmail(tx: TransactionSql, id: string): Promise<string | null> {
  const [user] = await tx<{ email_normalized: string }[]>`select email_normalized from app.users where id = ${id}`
  return user?.email_normalized ?? null
}

/** Disables a user and ends every session and access token they hold; false when there is no such user. */
export async function disableUser(tx: TransactionSql, id: string): Promise<boolean> {
  const [user] = await tx`
    update app.users
    set disabled_at = coalesce(disabled_at, now()), token_version = token_version + 1, updated_at = now()
    where id = ${id}
    returning id
  `
  if (!user) return false
  await tx`update app.refresh_tokens set revoked_at = now() where user_id = ${id} and revoked_at is null`
  return true
}

export async function enableUser(tx: TransactionSql, id: string): Promise<boolean> {
  const [user] = await tx`update app.users set disabled_at = null, updated_at = now() where id = ${id} returning id`
  return Boolean(user)
}

export interface Removed {
  workspaces: number
  runs: number
  grades: number
  exports: number
}

/**
 * Deletes the account and everything of it: the workspaces (and through them traffic profiles,
 * runs, grades and exports), then the user row, whose foreign keys cascade to refresh tokens,
 * verification, reset and sign-in-link tokens, known devices, idempotency keys and the counters.
 * Login lockouts and the development outbox are keyed by the address, so they go by it. What
 * went, counted (no personal data); none when there was no account.
 */
export async function deleteAccount(tx: TransactionSql, userId: string): Promise<Removed | null> {
  const [removed] = await tx<Removed[]>`
    select
      ${workspaceCountOf(tx, userId)} as workspaces,
      ${runCountOf(tx, userId)} as runs,
      ${gradeCountOf(tx, userId)} as grades,
      ${exportCountOf(tx, userId)} as exports
    from app.users u
    where u.id = ${userId}
    for update of u
  `
  if (!removed) return null
  // Workspaces first, with their runs, grades and exports, while the account is there: the
  // storage triggers subtract what they held from the account's own total row.
  await deleteWorkspacesOf(tx, userId)
  await tx`
    with gone as (
      delete from app.users
      where id = ${userId}
      returning email, email_normalized
    ), lockouts as (
      delete from app.login_lockouts l
      using gone
      where l.email_normalized = gone.email_normalized
    )
    delete from app.email_outbox o
    using gone
    where o.to_address = gone.email
  `
  return removed
}
