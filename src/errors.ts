import createError from '@fastify/error'
import type { FastifyError } from 'fastify'

// Every deliberate error the API answers with is defined here, once.
export const NotFound = createError('APP_ERR_NOT_FOUND', '%s not found', 404)
export const Conflict = createError('APP_ERR_CONFLICT', '%s', 409)
export const ServiceUnavailable = createError('APP_ERR_UNAVAILABLE', '%s', 503)
export const Unauthorized = createError('APP_ERR_UNAUTHORIZED', 'Authentication required', 401)
export const Forbidden = createError('APP_ERR_FORBIDDEN', '%s', 403)

export const InvalidCredentials = createError('APP_ERR_INVALID_CREDENTIALS', 'Invalid email or password', 401)
export const AccountDisabled = createError('APP_ERR_ACCOUNT_DISABLED', 'This account is disabled', 403)
export const WrongPassword = createError('APP_ERR_WRONG_PASSWORD', 'The current password is not correct', 403)
export const EmailNotVerified = createError(
  'APP_ERR_EMAIL_NOT_VERIFIED',
  'Confirm your email address before logging in',
  403
)
export const InvalidVerificationToken = createError(
  'APP_ERR_INVALID_TOKEN',
  'The verification link is not valid or has expired',
  400
)
export const InvalidResetToken = createError(
  'APP_ERR_INVALID_TOKEN',
  'The password reset link is not valid or has expired',
  400
)
export const EmailTaken = createError('APP_ERR_EMAIL_TAKEN', 'An account with this email already exists', 409)
/** An error answered with Retry-After: whole seconds, at least one (the handler sends `headers`). */
function retryAfter<E extends Error>(err: E, seconds: number): E & { headers: Record<string, string> } {
  return Object.assign(err, { headers: { 'retry-after': String(Math.max(1, Math.ceil(seconds))) } })
}
const secondsUntil = (until: Date, now: Date) => (until.getTime() - now.getTime()) / 1000

const AccountLockedError = createError('APP_ERR_ACCOUNT_LOCKED', 'Too many failed logins; try again later', 423)
/** 423 with Retry-After: this client is locked out of the email until `until`. */
export const AccountLocked = (until: Date, now: Date) => retryAfter(new AccountLockedError(), secondsUntil(until, now))

const RateLimitedError = createError('APP_ERR_RATE_LIMITED', 'Rate limit exceeded, retry in %s seconds', 429)
/** A limit a route counts itself (per email, per user), answered like the per-client one: 429 with Retry-After. */
export const RateLimited = (seconds: number) =>
  retryAfter(new RateLimitedError(String(Math.max(1, Math.ceil(seconds)))), seconds)

const QuotaExceededError = createError('APP_ERR_QUOTA_EXCEEDED', '%s', 429)
/** A per-user limit that frees up with time (runs finish, the day's window moves): 429 with Retry-After. */
export const QuotaExceeded = (message: string, seconds: number) => retryAfter(new QuotaExceededError(message), seconds)
const PreviewTooLargeError = createError(
  'APP_ERR_PREVIEW_TOO_LARGE',
  'The design is too large to preview (more than %s engine steps): simulate it instead',
  422
)
/** 422: a preview past its own engine budget (a run has a larger one). */
export const PreviewTooLarge = (steps: number) => new PreviewTooLargeError(String(steps))
const PreviewBusyError = createError('APP_ERR_PREVIEW_BUSY', 'Every preview thread is busy; try again shortly', 503)
/** 503 with Retry-After: every preview thread stayed busy past the queue wait. */
export const PreviewBusy = () => retryAfter(new PreviewBusyError(), 1)
/** A per-user limit on what is stored: 403 until the user deletes something. */
export const QuotaReached = createError('APP_ERR_QUOTA_REACHED', '%s', 403)

/**
 * 401 to an unknown client once an account has had many failed logins from everywhere, whatever
 * the password (so it tells nothing); with the right one a one-time sign-in link was emailed.
 */
export const LoginChallenge = createError(
  'APP_ERR_LOGIN_CHALLENGE',
  'This account has had many failed sign-ins lately. If the email and password are right, we emailed you a sign-in link',
  401
)
export const InvalidLoginLink = createError(
  'APP_ERR_INVALID_TOKEN',
  'The sign-in link is not valid, was used already or has expired',
  400
)
/** A cookie this API sets once came twice (a sibling subdomain can plant a second): refused, not guessed at. */
export const DuplicateCookie = createError(
  'APP_ERR_DUPLICATE_COOKIE',
  'The request carries the %s cookie more than once',
  400
)

/** Fastify's own client-error codes, renamed into this API's namespace. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'APP_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'APP_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'APP_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'APP_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'APP_ERR_MALFORMED_JSON'
}

export const FeatureDisabled = createError('APP_ERR_FEATURE_DISABLED', '%s is switched off by the operators', 503)
/** A body that passes the schema but lacks what only the handler can require (a field or a header, say). */
export const BadRequest = createError('APP_ERR_VALIDATION', '%s', 400)
/** 422, not 409 (which the web app's autosave reads as a version conflict): an exercise attempt's requirement. */
export const RequirementLocked = createError('APP_ERR_REQUIREMENT_LOCKED', '%s', 422)
export const InvalidCursor = createError('APP_ERR_INVALID_CURSOR', 'The cursor is not valid', 400)

/** 422 with every problem of a design, each with its JSON path. */
export class InvalidDesignError extends Error {
  readonly statusCode = 422
  readonly code = 'APP_ERR_INVALID_DESIGN'
  readonly problems: { path: string; message: string }[]
  constructor(problems: { path: string; message: string }[]) {
    super(`The design has ${problems.length} problem(s)`)
    this.problems = problems
  }
}

/** 409 carrying the version the client must rebase on. */
export class VersionConflictError extends Error {
  readonly statusCode = 409
  readonly code = 'APP_ERR_VERSION_CONFLICT'
  readonly currentVersion: number
  constructor(currentVersion: number) {
    super(`The resource changed: the current version is ${currentVersion}`)
    this.currentVersion = currentVersion
  }
}

const INTERNAL_MESSAGE = 'An internal error occurred'

/** SQLSTATEs with a meaning a client can act on. */
const SQLSTATE: Record<string, { statusCode: number; code: string; message: string }> = {
  '23505': { statusCode: 409, code: 'APP_ERR_CONFLICT', message: 'The resource already exists' },
  '23503': { statusCode: 409, code: 'APP_ERR_CONFLICT', message: 'A referenced resource does not exist' },
  // A value the schema let through but Postgres cannot hold: the client's input, not our fault.
  '22003': { statusCode: 400, code: 'APP_ERR_BAD_REQUEST', message: 'A number is out of range' },
  // A date the routes did not catch, out of what Postgres holds: still the client's input.
  '22007': { statusCode: 400, code: 'APP_ERR_BAD_REQUEST', message: 'A date is not valid' },
  '22008': { statusCode: 400, code: 'APP_ERR_BAD_REQUEST', message: 'A date is out of range' },
  '22021': { statusCode: 400, code: 'APP_ERR_BAD_REQUEST', message: 'Text must be valid UTF-8 without NUL characters' },
  '22P05': { statusCode: 400, code: 'APP_ERR_BAD_REQUEST', message: 'Text must be valid UTF-8 without NUL characters' },
  '40001': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'Please retry the request' },
  '40P01': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'Please retry the request' },
  '57014': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'The database did not answer in time' },
  '53300': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'The database is busy' },
  '57P01': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'The database is unavailable' },
  '57P03': { statusCode: 503, code: 'APP_ERR_UNAVAILABLE', message: 'The database is unavailable' }
}

/** Connection-level failures (postgres.js and Node socket codes): the database is unreachable. */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED'
])

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  requestId: string
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  423: 'Locked',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function statusText(statusCode: number): string {
  return STATUS_TEXT[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request')
}

export function errorBody(statusCode: number, code: string, message: string, requestId: string): ErrorBody {
  return { statusCode, code, error: statusText(statusCode), message, requestId }
}

/** Classifies any thrown value into the public error shape; 5xx messages are always replaced. */
export function toErrorBody(err: FastifyError & { code?: string }, requestId: string): ErrorBody {
  const mapped = err.code ? SQLSTATE[err.code] : undefined
  if (mapped) return errorBody(mapped.statusCode, mapped.code, mapped.message, requestId)
  if (err.code && UNAVAILABLE_CODES.has(err.code)) {
    return errorBody(503, 'APP_ERR_UNAVAILABLE', 'A dependency is unavailable, please retry', requestId)
  }
  const statusCode = err.statusCode ?? 500
  if (statusCode >= 500) {
    const code = statusCode === 503 && err.code?.startsWith('APP_ERR_') ? err.code : 'APP_ERR_INTERNAL'
    const message = statusCode === 503 && err.code?.startsWith('APP_ERR_') ? err.message : INTERNAL_MESSAGE
    return errorBody(statusCode, code, message, requestId)
  }
  if (err.validation) return errorBody(400, 'APP_ERR_VALIDATION', err.message, requestId)
  let code = 'APP_ERR_BAD_REQUEST'
  if (err.code?.startsWith('APP_ERR_')) code = err.code
  else if (err.code && FASTIFY_CODES[err.code]) code = FASTIFY_CODES[err.code]
  else if (err instanceof SyntaxError) code = 'APP_ERR_MALFORMED_JSON'
  return errorBody(statusCode, code, err.message, requestId)
}
