// Signed download links: `<owner id>.<expiry, ms>.<HMAC-SHA256 of export id, owner and expiry>`,
// keyed by a key derived from the JWT secret. Nothing is stored; a link works until it expires.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const LINK_TTL_MS = 60_000

export const ticketKey = (secret: string): Buffer => createHmac('sha256', secret).update('export-link/v1').digest()

const mac = (key: Buffer, exportId: string, userId: string, expires: number) =>
  createHmac('sha256', key).update(`${exportId}|${userId}|${expires}`).digest()

export function signTicket(key: Buffer, exportId: string, userId: string, expiresAt: Date): string {
  const expires = expiresAt.getTime()
  return `${userId}.${expires}.${mac(key, exportId, userId, expires).toString('base64url')}`
}

/** The owner the ticket names, or null when it is malformed, forged, for another export or expired. */
export function verifyTicket(key: Buffer, exportId: string, ticket: string, now: Date): string | null {
  const [userId, expiresText, signature, extra] = ticket.split('.')
  if (extra !== undefined || !userId || !expiresText || !signature || !/^\d{1,15}$/.test(expiresText)) return null
  const expires = Number(expiresText)
  if (expires <= now.getTime()) return null
  const given = Buffer.from(signature, 'base64url')
  const expected = mac(key, exportId, userId, expires)
  return given.length === expected.length && timingSafeEqual(given, expected) ? userId : null
}
