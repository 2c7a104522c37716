import type { Sql, TransactionSql } from '../../db/client.ts'
import type { UserRow } from './schemas.ts'

// The account routes' statements on app.users and the verification tokens.

const USER_COLUMNS = ['id', 'email', 'display_name', 'role', 'email_verified_at', 'created_at'] as const

/** A new account; none (undefined) when the normalised email is taken. */
export async function insertAccount(
  tx: TransactionSql,
  a: { email: string; emailNormalized: string; displayName: string; passwordHash: string }
): Promise<UserRow | undefined> {
  const [row] = await tx<UserRow[]>`
    insert into app.users ${tx({
      email: a.email,
      email_normalized: a.emailNormalized,
      display_name: a.displayName,
      password_hash: a.passwordHash
    })}
    on conflict (email_normalized) do nothing
    returning ${tx(USER_COLUMNS)}
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
