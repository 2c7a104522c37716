import { createHash } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'
import type { Sql } from '../db/client.ts'

/**
 * argon2id with OWASP's first recommended setting: 19 MiB memory, 2 iterations,
 * 1 lane. About 20–40 ms per hash on this machine's cores.
 */
export const ARGON2_PARAMS = Object.freeze({
  algorithm: 2, // Algorithm.Argon2id (a const enum, which type stripping cannot import)
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1
})

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS)
}

let dummyHash: Promise<string> | null = null

/**
 * Verifies a password; with no stored hash (unknown email) it verifies against a dummy
 * hash so both paths cost the same time.
 */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (storedHash === null) {
    dummyHash ??= hashPassword('dummy-password-for-timing-equalisation')
    await verify(await dummyHash, password).catch(() => false)
    return false
  }
  return verify(storedHash, password).catch(() => false)
}

export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase()
}

/** Tokens (refresh, email verification) are stored only as this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * Creates an account directly (the CLI's user:create, and tests and the fuzzer that need an
 * admin); returns its id, or null when the email is taken.
 */
export async function insertUser(
  sql: Sql,
  user: { email: string; password: string; role: 'user' | 'admin'; displayName?: string }
): Promise<string | null> {
  const email = user.email.trim()
  const [row] = await sql<{ id: string }[]>`
    insert into app.users ${sql({
      email,
      email_normalized: normalizeEmail(email),
      display_name: user.displayName ?? email.split('@')[0],
      password_hash: await hashPassword(user.password),
      role: user.role
    })}
    on conflict (email_normalized) do nothing
    returning id
  `
  return row?.id ?? null
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
