import { traceLogFields, tracingEnabled } from './tracing.ts'

// What every process logs with: the level from config, and the paths that never reach a log line.

/** Explicit paths: pino's `*` matches one level only. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-metrics-secret"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'body.password',
  'body.currentPassword',
  'body.newPassword',
  'body.token',
  'body.refreshToken',
  'user.password',
  'user.passwordHash',
  'config.jwt.secret',
  'config.jwt.previousSecrets',
  'config.metrics.secret',
  'config.databaseUrl',
  'config.redisUrl',
  'config.email.smtpUrl',
  'config.tracing.headers'
]

/** pino options for the api's and the worker's loggers; with tracing on, every line carries the trace and span ids. */
export function loggerOptions(level: string): {
  level: string
  redact: { paths: string[]; censor: string }
  mixin?: () => Record<string, string>
} {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    ...(tracingEnabled() ? { mixin: () => traceLogFields() } : {})
  }
}
