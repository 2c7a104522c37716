import { createHash, hkdfSync } from 'node:crypto'
import { hash, verify } from '@node-rs/argon2'

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

/** A key for one purpose, derived from a signing secret (HKDF-SHA256): the secret itself signs only JWTs. */
export const deriveKey = (secret: string, purpose: string): Buffer =>
  Buffer.from(hkdfSync('sha256', secret, '', `system-design-coach ${purpose}`, 32))
