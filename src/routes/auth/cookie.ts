// The browser's refresh token: an HttpOnly, Secure, SameSite=Strict cookie scoped to /auth, so
// the app's script never holds it (an XSS cannot read it) and no other site's page can send it.
// A request uses the cookie only with the header `X-Refresh-Cookie: 1`: a page on another origin
// cannot add a custom header without a CORS preflight, which only allowlisted origins pass
// (OWASP's custom-request-header defence against CSRF, beside SameSite).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DuplicateCookie } from '../../errors.ts'

// __Secure-: only a Secure response may set it. A sibling subdomain still can (with Domain), so a
// request that carries the name twice is refused rather than guessed at.
export const REFRESH_COOKIE = '__Secure-sdc_refresh'
/** The name before the prefix: expired whenever the cookies are cleared, so old browsers drop it. */
const LEGACY_REFRESH_COOKIE = 'sdc_refresh'
/** Holds no secret: tells the app's script that a refresh is worth trying (it cannot see the HttpOnly one). */
export const SIGNED_IN_COOKIE = 'sdc_signed_in'

export const wantsCookie = (request: FastifyRequest): boolean => request.headers['x-refresh-cookie'] === '1'

/** The refresh token the request presents: the body's, else (in cookie mode) the cookie's; a doubled cookie is a 400. */
export function refreshTokenFrom(request: FastifyRequest, reply: FastifyReply): string | null {
  const body = request.body as { refreshToken?: string } | undefined
  if (body?.refreshToken) return body.refreshToken
  if (!wantsCookie(request)) return null
  const values = cookieValues(request.headers.cookie, REFRESH_COOKIE)
  if (values.length > 1) {
    clearRefreshCookie(reply)
    throw new DuplicateCookie(REFRESH_COOKIE)
  }
  return values[0] !== undefined && /^[A-Za-z0-9_-]{20,2048}$/.test(values[0]) ? values[0] : null
}

/** Every value the Cookie header gives `name`, in order (a browser sends each same-named cookie it holds). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return []
  const values: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim())
  }
  return values
}

const cookies = (token: string, maxAge: number) => [
  `${REFRESH_COOKIE}=${token}; Path=/auth; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`,
  `${SIGNED_IN_COOKIE}=${maxAge > 0 ? 1 : ''}; Path=/; Max-Age=${maxAge}; Secure; SameSite=Strict`
]

/** Moves a token pair's refresh token into the cookie; the JSON keeps everything else. */
export function setRefreshCookie<T extends { refreshToken?: string; refreshExpiresAt: string }>(
  reply: FastifyReply,
  pair: T,
  now: Date
): Omit<T, 'refreshToken'> {
  const { refreshToken, ...rest } = pair
  const maxAge = Math.max(0, Math.floor((Date.parse(pair.refreshExpiresAt) - now.getTime()) / 1000))
  reply.header('set-cookie', cookies(refreshToken ?? '', maxAge))
  return rest
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.header('set-cookie', [
    ...cookies('', 0),
    `${LEGACY_REFRESH_COOKIE}=; Path=/auth; Max-Age=0; HttpOnly; Secure; SameSite=Strict`
  ])
}
