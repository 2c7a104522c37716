// The device cookie (OWASP Authentication Cheat Sheet, "device cookies"): a browser that signed in
// to an account carries a signed cookie naming the account and a random device id. Its logins to
// that account have their own failure budget, and pass the per-account and per-address throttles
// meant for strangers. __Host- (Secure, Path=/, no Domain): a sibling subdomain cannot plant one.
// Signed with a key derived from JWT_SECRET, and read under JWT_PREVIOUS_SECRETS' keys too, so a
// rotation keeps every device; the database holds only the hash of the id.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { deriveKey, hashToken } from '../../accounts/accounts.ts'
import { DEVICE_TTL_DAYS, type DeviceClaim } from '../../accounts/devices.ts'
import { cookieValues } from './cookie.ts'

export const DEVICE_COOKIE = '__Host-sdc_device'

export type { DeviceClaim }

const VALUE =
  /^v1\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

export interface DeviceCookies {
  /** The request's device cookie if exactly one is sent and its signature holds under a current or previous key. */
  read(request: FastifyRequest): DeviceClaim | null
  /** A cookie for this user's sign-in: the same device id when the request carried one of theirs, else a new one. */
  issue(request: FastifyRequest, userId: string): { claim: DeviceClaim; setCookie: string }
}

export function deviceCookies(secrets: readonly string[]): DeviceCookies {
  if (secrets.length === 0) throw new Error('device cookies need a secret')
  const keys = secrets.map((secret) => deriveKey(secret, 'device cookie v1'))
  const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest()

  function parse(request: FastifyRequest): { userId: string; deviceId: string } | null {
    const values = cookieValues(request.headers.cookie, DEVICE_COOKIE)
    const match = values.length === 1 ? VALUE.exec(values[0]) : null
    if (!match) return null
    const [, userId, deviceId, signature] = match
    const given = Buffer.from(signature, 'base64url')
    const payload = `v1.${userId}.${deviceId}`
    return keys.some((key) => timingSafeEqual(mac(key, payload), given)) ? { userId, deviceId } : null
  }

  return {
    read(request) {
      const claim = parse(request)
      return claim ? { userId: claim.userId, deviceHash: hashToken(claim.deviceId) } : null
    },
    issue(request, userId) {
      const known = parse(request)
      const deviceId = known?.userId === userId ? known.deviceId : randomBytes(16).toString('base64url')
      const payload = `v1.${userId}.${deviceId}`
      const value = `${payload}.${mac(keys[0], payload).toString('base64url')}`
      return {
        claim: { userId, deviceHash: hashToken(deviceId) },
        setCookie: `${DEVICE_COOKIE}=${value}; Path=/; Max-Age=${DEVICE_TTL_DAYS * 86400}; HttpOnly; Secure; SameSite=Strict`
      }
    }
  }
}
