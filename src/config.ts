import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { coversTooMuch } from './client-address.ts'

// The only module that reads the environment: everything else receives the frozen Config.

export const Environments = ['development', 'test', 'production'] as const
export type Environment = (typeof Environments)[number]

export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LogLevels)[number]

export interface Config {
  readonly env: Environment
  readonly isProduction: boolean
  readonly isDevelopment: boolean
  readonly apiHost: string
  readonly apiPort: number
  /** The app's role (api, worker, cli): no superuser, owning nothing (RUNBOOK: the database roles). */
  readonly databaseUrl: string | undefined
  /** The owner's, for migrations and pg-boss's install only; unset, migrations use DATABASE_URL. */
  readonly databaseOwnerUrl: string | undefined
  readonly databasePoolMax: number
  readonly databaseConnectTimeoutSeconds: number
  /** Used only when DATABASE_URL is unset outside production. */
  readonly embeddedPostgres: { readonly dataDir: string; readonly port: number }
  readonly redisUrl: string | undefined
  readonly redisKeyPrefix: string
  readonly jwt: {
    readonly secret: string
    readonly previousSecrets: readonly string[]
    readonly accessTtlSeconds: number
    readonly refreshTtlSeconds: number
  }
  readonly corsAllowedOrigins: readonly string[]
  readonly bodyLimitBytes: number
  readonly requestTimeoutMs: number
  /** A request not answered by then gets a 503; also the api pool's statement_timeout. */
  readonly handlerTimeoutMs: number
  /** How long a starting api or worker waits for an unreachable database before exiting. */
  readonly databaseStartupTimeoutSeconds: number
  readonly trustProxy: readonly string[]
  readonly rateLimit: { readonly windowMs: number; readonly max: number }
  readonly authRateLimit: { readonly windowMs: number; readonly max: number }
  readonly login: {
    readonly maxAttempts: number
    readonly attemptWindowMinutes: number
    readonly lockoutMinutes: number
  }
  readonly emailVerificationRequired: boolean
  readonly email: {
    /** smtp:// or smtps://; unset means the development outbox (a table and a log line). */
    readonly smtpUrl: string | undefined
    readonly from: string
    /** Where verification links point (the web client). */
    readonly publicBaseUrl: string
    readonly verificationTtlHours: number
  }
  readonly requestTelemetrySampleRate: number
  readonly telemetryRetentionDays: number
  /** How often buffered request telemetry is written (it is also written at 500 rows and on shutdown). */
  readonly telemetryFlushIntervalMs: number
  readonly metrics: {
    readonly enabled: boolean
    readonly guard: 'secret' | 'cidr' | undefined
    readonly secret: string | undefined
    readonly allowlist: readonly string[]
  }
  readonly bypassAuth: boolean
  /** Swagger UI at /docs; /openapi.json is always served. */
  readonly docsEnabled: boolean
  /** Serve the learner's web app at `/` (built into web/dist at start-up when missing). */
  readonly webApp: boolean
  readonly shutdownTimeoutMs: number
  readonly shutdownDrainMs: number
  readonly workerSuperviseIntervalSeconds: number
  /** How often an idle worker polls its queues; a job enqueued through the api wakes it at once. */
  readonly workerPollIntervalSeconds: number
  /** Threads a worker process runs simulations on. */
  readonly workerEngineThreads: number
  /** Wall-clock limit of one simulation run; a run past it fails (not retried) and its thread is replaced. */
  readonly simulationTimeoutMs: number
  /** The api's previews: their own engine threads and budget (a preview never runs on the event loop). */
  readonly preview: {
    readonly threads: number
    /** Engine steps one preview may take; past them, 422 APP_ERR_PREVIEW_TOO_LARGE. */
    readonly maxSteps: number
    /** Wall-clock stop of one preview on its thread (the step budget ends it first in practice). */
    readonly timeoutMs: number
    /** How long a preview may wait for a thread before 503 with Retry-After. */
    readonly queueWaitMs: number
  }
  /** Per-user limits; past one the API answers 429 (with Retry-After) or 403 in the error shape. */
  readonly quotas: {
    readonly activeRuns: number
    readonly runsPerDay: number
    readonly workspaces: number
    readonly storedRuns: number
    readonly exportsPerDay: number
    /** Bytes a user may store in workspaces, runs and exports together. */
    readonly storageBytes: number
    /** Accounts one client address may create a day (a class joining from one school address: raise it). */
    readonly signupsPerClientPerDay: number
    /** Classes (issue 40): organisations a user may create, classes an organisation holds, members a class holds, invitations an organisation sends a day. */
    readonly organisationsPerUser: number
    readonly classesPerOrganisation: number
    readonly membersPerClass: number
    readonly invitationsPerDay: number
  }
  /** What the maintenance job deletes: exports older than `exportDays`, runs past the newest `runsPerWorkspace` of a workspace (never a graded one). */
  readonly retention: {
    readonly exportDays: number
    readonly runsPerWorkspace: number
  }
  /** Key of the audit chain's HMAC anchor (kept outside the database); unset, the chain is hashed only. */
  readonly auditHmacKey: string | undefined
  /** /openapi.json served to anyone (default: outside production only). */
  readonly openapiPublic: boolean
  /** /health shows version, pool and queue figures (default: outside production only). */
  readonly healthDetails: boolean
  readonly logLevel: LogLevel
  /** OpenTelemetry tracing (the standard OTEL_* variables); null when no OTLP endpoint is set. */
  readonly tracing: TracingConfig | null
  readonly flags: Readonly<Record<string, boolean>>
}

export const TraceSamplers = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio'
] as const

/** OTEL_TRACES_EXPORTER: OTLP, or none (spans made for their ids in logs and rows, never sent). */
export const TraceExporters = ['otlp', 'none'] as const

/** The OTLP encodings over HTTP (gRPC is not offered: the processes export over HTTP only). */
export const OtlpProtocols = ['http/protobuf', 'http/json'] as const

export interface TracingConfig {
  /**
   * Where spans go over OTLP/HTTP: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT
   * + /v1/traces; null with OTEL_TRACES_EXPORTER=none (ids in headers, logs and rows; nothing sent).
   */
  readonly url: string | null
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL (the specification's default, http/protobuf). */
  readonly protocol: (typeof OtlpProtocols)[number]
  readonly headers: Readonly<Record<string, string>>
  /** OTEL_SERVICE_NAME; each process adds its role (sdc-api, sdc-worker) when unset. */
  readonly serviceName: string | undefined
  readonly sampler: (typeof TraceSamplers)[number]
  /** OTEL_TRACES_SAMPLER_ARG for the ratio samplers. */
  readonly ratio: number
  /**
   * OTEL_BSP_SCHEDULE_DELAY: the longest a finished span waits in its batch before it is sent, in
   * ms. Short by default (the specification's is 5 s): a span that waits seconds outlives V8's
   * young generation and costs more to collect than to send.
   */
  readonly scheduleDelayMs: number
}

export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export interface LoadedConfig {
  config: Config
  warnings: string[]
}

const DEV_JWT_SECRET = 'development-only-jwt-secret-change-me-000000'
const PLACEHOLDER_SECRETS = new Set([
  DEV_JWT_SECRET,
  'changeme',
  'change-me',
  'secret',
  'your-secret',
  'your-secret-here',
  'jwt-secret',
  'replace-me',
  'please-change-me-to-a-long-random-string-0000'
])

/** Feature flags this build knows; any other FLAG_* is listed as a warning. */
export const KnownFlags = ['EXPORTS', 'GRADING'] as const

const DURATION = /^(\d+)(ms|s|m|h|d)?$/
const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }

type Env = Record<string, string | undefined>

/**
 * Parses the environment once. Throws ConfigError listing every problem, each naming
 * the variable and never its value.
 */
export function loadConfig(env: Env = process.env): LoadedConfig {
  const problems: string[] = []
  const warnings: string[] = []
  const read = (name: string): string | undefined => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }

  function int(name: string, fallback: number, min: number, max: number): number {
    const raw = read(name)
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}`)
      return fallback
    }
    return Number(raw)
  }

  function bool(name: string, fallback: boolean): boolean {
    const raw = read(name)?.toLowerCase()
    if (raw === undefined) return fallback
    if (raw === 'true' || raw === '1') return true
    if (raw === 'false' || raw === '0') return false
    problems.push(`${name} must be true or false`)
    return fallback
  }

  function duration(name: string, fallback: number): number {
    const raw = read(name)
    if (raw === undefined) return fallback
    const match = DURATION.exec(raw)
    const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 's'] : Number.NaN
    if (!match || seconds < 1) {
      problems.push(`${name} must be a duration such as 900, 15m, 12h or 7d (at least 1s)`)
      return fallback
    }
    return seconds
  }

  function list(name: string, fallback: string[]): string[] {
    const raw = read(name)
    if (raw === undefined) return fallback
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  }

  function oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = read(name)
    if (raw === undefined) return fallback
    if (!(values as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${values.join(', ')}`)
      return fallback
    }
    return raw as T
  }

  function cidrs(name: string): string[] {
    const raw = read(name)
    if (raw === undefined) return []
    if (raw.toLowerCase() === 'true' || raw === '*') {
      problems.push(`${name} must list trusted proxy addresses or CIDRs, not trust every hop`)
      return []
    }
    const entries = list(name, [])
    for (const entry of entries) {
      const [address, bits, extra] = entry.split('/')
      const family = isIP(address)
      const maxBits = family === 6 ? 128 : 32
      const badBits = bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > maxBits)
      if (family === 0 || badBits || extra !== undefined) {
        problems.push(`${name} has an entry that is not an IP address or CIDR`)
        break
      }
    }
    return entries
  }

  function url(name: string, protocols: string[]): string | undefined {
    const raw = read(name)
    if (raw === undefined) return undefined
    try {
      const parsed = new URL(raw)
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol')
      return raw
    } catch {
      problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`)
      return undefined
    }
  }

  const env_ = oneOf('NODE_ENV', Environments, 'development')
  const isProduction = env_ === 'production'

  const sampleRaw = read('REQUEST_TELEMETRY_SAMPLE_RATE')
  let sampleRate = 1
  if (sampleRaw !== undefined) {
    sampleRate = Number(sampleRaw)
    if (!/^\d*\.?\d+$/.test(sampleRaw) || sampleRate < 0 || sampleRate > 1) {
      problems.push('REQUEST_TELEMETRY_SAMPLE_RATE must be a number between 0 and 1')
      sampleRate = 1
    }
  }

  const metricsGuardRaw = read('METRICS_GUARD')
  let metricsGuard: 'secret' | 'cidr' | undefined
  if (metricsGuardRaw !== undefined) {
    if (metricsGuardRaw === 'secret' || metricsGuardRaw === 'cidr') metricsGuard = metricsGuardRaw
    else problems.push('METRICS_GUARD must be secret or cidr')
  }

  const flags: Record<string, boolean> = {}
  for (const name of KnownFlags) flags[name] = true
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith('FLAG_')) continue
    const name = key.slice('FLAG_'.length)
    if (!(KnownFlags as readonly string[]).includes(name)) {
      warnings.push(`${key} is not a known feature flag (known: ${KnownFlags.join(', ')}); ignored`)
      continue
    }
    flags[name] = bool(key, true)
  }

  const jwtSecretRaw = read('JWT_SECRET')
  const tracing = tracingConfig()

  /** The OTEL_* variables as the OpenTelemetry specification defines them; tracing is off without an endpoint (or OTEL_TRACES_EXPORTER=none). */
  function tracingConfig(): TracingConfig | null {
    if (bool('OTEL_SDK_DISABLED', false)) return null
    const exporter = oneOf('OTEL_TRACES_EXPORTER', TraceExporters, 'otlp')
    const signal = url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:'])
    const base = url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:'])
    // Off unless asked for: an endpoint to export to, or spans kept to this process (none).
    if (exporter === 'otlp' && signal === undefined && base === undefined) return null
    const headers: Record<string, string> = {}
    for (const pair of list('OTEL_EXPORTER_OTLP_HEADERS', [])) {
      const at = pair.indexOf('=')
      if (at <= 0) {
        problems.push('OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas')
        break
      }
      try {
        headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
      } catch {
        problems.push('OTEL_EXPORTER_OTLP_HEADERS must be percent-encoded')
      }
    }
    const sampler = oneOf('OTEL_TRACES_SAMPLER', TraceSamplers, 'parentbased_always_on')
    const ratioRaw = read('OTEL_TRACES_SAMPLER_ARG')
    const ratio = ratioRaw === undefined ? 1 : Number(ratioRaw)
    if (!(ratio >= 0 && ratio <= 1)) problems.push('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1')
    const protocolVariable =
      read('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined
        ? 'OTEL_EXPORTER_OTLP_PROTOCOL'
        : 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    return {
      url: exporter === 'none' ? null : (signal ?? `${(base as string).replace(/\/+$/, '')}/v1/traces`),
      protocol: oneOf(protocolVariable, OtlpProtocols, 'http/protobuf'),
      headers,
      serviceName: read('OTEL_SERVICE_NAME'),
      sampler,
      ratio,
      scheduleDelayMs: int('OTEL_BSP_SCHEDULE_DELAY', 200, 1, 60_000)
    }
  }
  const config: Config = {
    env: env_,
    isProduction,
    isDevelopment: env_ === 'development',
    apiHost: read('API_HOST') ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    apiPort: int('API_PORT', 3000, 0, 65535),
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseOwnerUrl: url('DATABASE_OWNER_URL', ['postgres:', 'postgresql:']),
    databasePoolMax: int('DATABASE_POOL_MAX', 10, 1, 1000),
    databaseConnectTimeoutSeconds: int('DATABASE_CONNECT_TIMEOUT_SECONDS', 5, 1, 120),
    embeddedPostgres: {
      dataDir: read('EMBEDDED_PG_DATA_DIR') ?? '.data/postgres',
      port: int('EMBEDDED_PG_PORT', 54329, 1024, 65535)
    },
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: read('REDIS_KEY_PREFIX') ?? 'sdc:',
    jwt: {
      secret: jwtSecretRaw ?? DEV_JWT_SECRET,
      previousSecrets: list('JWT_PREVIOUS_SECRETS', []),
      accessTtlSeconds: duration('JWT_ACCESS_TTL', 15 * 60),
      refreshTtlSeconds: duration('JWT_REFRESH_TTL', 7 * 86400)
    },
    corsAllowedOrigins: list('CORS_ALLOWED_ORIGINS', ['http://localhost:3000', 'http://127.0.0.1:3000']),
    bodyLimitBytes: int('API_BODY_LIMIT_BYTES', 1048576, 1024, 100 * 1024 * 1024),
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 30000, 0, 600000),
    handlerTimeoutMs: int('HANDLER_TIMEOUT_MS', 10000, 100, 600000),
    databaseStartupTimeoutSeconds: int('DATABASE_STARTUP_TIMEOUT_SECONDS', 120, 0, 86400),
    trustProxy: cidrs('TRUST_PROXY'),
    rateLimit: {
      windowMs: int('RATE_LIMIT_WINDOW_MS', 60000, 1000, 86400000),
      max: int('RATE_LIMIT_MAX_REQUESTS', 120, 1, 1_000_000_000)
    },
    authRateLimit: {
      windowMs: int('AUTH_RATE_LIMIT_WINDOW_MS', 60000, 1000, 86400000),
      max: int('AUTH_RATE_LIMIT_MAX_REQUESTS', 12, 1, 1_000_000_000)
    },
    login: {
      maxAttempts: int('AUTH_LOGIN_MAX_ATTEMPTS', 5, 1, 1000),
      attemptWindowMinutes: int('AUTH_LOGIN_ATTEMPT_WINDOW_MINUTES', 15, 1, 1440),
      lockoutMinutes: int('AUTH_LOGIN_LOCKOUT_MINUTES', 15, 1, 1440)
    },
    // On in production: sign-up then answers the same 202 for a new and a taken email (docs/security.md).
    emailVerificationRequired: bool('AUTH_EMAIL_VERIFICATION_REQUIRED', isProduction),
    email: {
      smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
      from: read('EMAIL_FROM') ?? 'System Design Coach <no-reply@localhost>',
      publicBaseUrl: url('PUBLIC_BASE_URL', ['http:', 'https:']) ?? 'http://localhost:3000',
      verificationTtlHours: int('EMAIL_VERIFICATION_TTL_HOURS', 24, 1, 720)
    },
    requestTelemetrySampleRate: sampleRate,
    telemetryRetentionDays: int('TELEMETRY_RETENTION_DAYS', 14, 1, 3650),
    telemetryFlushIntervalMs: int('TELEMETRY_FLUSH_INTERVAL_MS', 1000, 100, 60_000),
    metrics: {
      enabled: bool('METRICS_ENABLED', false),
      guard: metricsGuard,
      secret: read('METRICS_GUARD_SECRET'),
      allowlist: cidrs('METRICS_GUARD_ALLOWLIST')
    },
    bypassAuth: bool('BYPASS_AUTH', false),
    docsEnabled: bool('DOCS_ENABLED', env_ === 'development'),
    webApp: bool('WEB_APP', true),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 30000, 100, 600000),
    workerSuperviseIntervalSeconds: int('WORKER_SUPERVISE_INTERVAL_SECONDS', 15, 1, 3600),
    workerEngineThreads: int('WORKER_ENGINE_THREADS', availableParallelism(), 1, 256),
    workerPollIntervalSeconds: int('WORKER_POLL_INTERVAL_SECONDS', 2, 1, 600),
    simulationTimeoutMs: int('SIMULATION_TIMEOUT_MS', 5000, 100, 600000),
    preview: {
      threads: int('PREVIEW_ENGINE_THREADS', 1, 1, 64),
      maxSteps: int('PREVIEW_MAX_STEPS', 1_000_000, 1000, 50_000_000),
      timeoutMs: int('PREVIEW_TIMEOUT_MS', 1000, 50, 60_000),
      queueWaitMs: int('PREVIEW_QUEUE_WAIT_MS', 500, 0, 10_000)
    },
    quotas: {
      activeRuns: int('QUOTA_ACTIVE_RUNS', 5, 1, 10_000_000),
      runsPerDay: int('QUOTA_RUNS_PER_DAY', 500, 1, 10_000_000),
      workspaces: int('QUOTA_WORKSPACES', 200, 1, 10_000_000),
      storedRuns: int('QUOTA_STORED_RUNS', 5000, 1, 10_000_000),
      exportsPerDay: int('QUOTA_EXPORTS_PER_DAY', 200, 1, 10_000_000),
      storageBytes: int('QUOTA_STORAGE_BYTES', 200 * 1024 * 1024, 1024 * 1024, 1024 ** 4),
      signupsPerClientPerDay: int('QUOTA_SIGNUPS_PER_CLIENT_PER_DAY', 50, 1, 1_000_000),
      organisationsPerUser: int('QUOTA_ORGANISATIONS_PER_USER', 5, 1, 1000),
      classesPerOrganisation: int('QUOTA_CLASSES_PER_ORGANISATION', 200, 1, 100_000),
      membersPerClass: int('QUOTA_MEMBERS_PER_CLASS', 300, 2, 100_000),
      invitationsPerDay: int('QUOTA_INVITATIONS_PER_DAY', 500, 1, 1_000_000)
    },
    retention: {
      exportDays: int('RETENTION_EXPORT_DAYS', 30, 1, 3650),
      runsPerWorkspace: int('RETENTION_RUNS_PER_WORKSPACE', 50, 1, 100_000)
    },
    auditHmacKey: read('AUDIT_HMAC_KEY'),
    openapiPublic: bool('OPENAPI_PUBLIC', !isProduction),
    healthDetails: bool('HEALTH_DETAILS', !isProduction),
    shutdownDrainMs: int('SHUTDOWN_DRAIN_MS', isProduction ? 5000 : 250, 0, 120000),
    logLevel: oneOf('LOG_LEVEL', LogLevels, env_ === 'test' ? 'silent' : 'info'),
    tracing,
    flags
  }

  // The public fallback secret signs nothing outside development, as the current or a previous secret.
  if (env_ !== 'development') {
    if (jwtSecretRaw === undefined) problems.push(`JWT_SECRET is required in ${env_}`)
    else if (jwtSecretRaw !== undefined) problems.push(...secretProblems('JWT_SECRET', jwtSecretRaw))
    config.jwt.previousSecrets.forEach((secret, i) => {
      problems.push(...secretProblems(`JWT_PREVIOUS_SECRETS entry ${i + 1}`, secret))
    })
  }
  if (isProduction) {
    if (read('DATABASE_URL') === undefined) problems.push('DATABASE_URL is required in production')
    // Judged as the family they cover: ::ffff:0:0/96 is all of IPv4 written as IPv6.
    if (config.trustProxy.some(coversTooMuch))
      problems.push('TRUST_PROXY must not trust networks wider than /8 (IPv4, also written as ::ffff:…) or /32 (IPv6)')
    if (config.metrics.guard === 'cidr' && config.metrics.allowlist.some(coversTooMuch))
      problems.push(
        'METRICS_GUARD_ALLOWLIST must not allow networks wider than /8 (IPv4) or /32 (IPv6): not the internet'
      )
    if (config.jwt.accessTtlSeconds > 3600) problems.push('JWT_ACCESS_TTL must be at most 1h in production')
    if (config.jwt.refreshTtlSeconds > 30 * 86400) problems.push('JWT_REFRESH_TTL must be at most 30d in production')
    if (config.auditHmacKey !== undefined && config.auditHmacKey.length < 32)
      problems.push('AUDIT_HMAC_KEY must be at least 32 characters')
    const origins = read('CORS_ALLOWED_ORIGINS')
    if (origins === undefined) problems.push('CORS_ALLOWED_ORIGINS must be set in production')
    else if (config.corsAllowedOrigins.includes('*')) problems.push('CORS_ALLOWED_ORIGINS must not be * in production')
    if (config.emailVerificationRequired && config.email.smtpUrl === undefined) {
      problems.push(
        'AUTH_EMAIL_VERIFICATION_REQUIRED needs SMTP_URL in production (the outbox is for development); it is on unless set to false'
      )
    } else if (config.email.smtpUrl === undefined) {
      warnings.push('SMTP_URL is not set: password-reset mail goes to the development outbox, which no one reads')
    }
  } else {
    if (jwtSecretRaw === undefined) warnings.push('JWT_SECRET is not set: using the development fallback secret')
    if (read('REDIS_URL') === undefined)
      warnings.push('REDIS_URL is not set: rate limits are kept in memory per instance')
    if (config.bypassAuth)
      warnings.push('BYPASS_AUTH is enabled: every request is authenticated as the development user')
  }
  if (env_ !== 'development') {
    if (config.bypassAuth) problems.push(`BYPASS_AUTH must not be enabled in ${env_} (development only)`)
    if (config.metrics.enabled && config.metrics.guard === undefined) {
      problems.push(`METRICS_ENABLED requires METRICS_GUARD (secret or cidr) in ${env_}`)
    }
  }
  if (config.metrics.guard === 'secret' && config.metrics.enabled) {
    const secret = config.metrics.secret
    if (secret === undefined || secret.length < 16)
      problems.push('METRICS_GUARD_SECRET must be at least 16 characters when METRICS_GUARD=secret')
  }
  if (config.metrics.guard === 'cidr' && config.metrics.enabled && config.metrics.allowlist.length === 0) {
    problems.push('METRICS_GUARD_ALLOWLIST must list CIDRs when METRICS_GUARD=cidr')
  }
  if (config.corsAllowedOrigins.some((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))) {
    problems.push('CORS_ALLOWED_ORIGINS must list origins such as https://app.example.com (scheme and host, no path)')
  }

  // An invalid DATABASE_URL is a problem of its own already.
  if (
    config.databaseOwnerUrl !== undefined &&
    (config.databaseUrl !== undefined || read('DATABASE_URL') === undefined)
  ) {
    const sameRole = databaseUrlsProblem(config.databaseUrl, config.databaseOwnerUrl, problems)
    if (sameRole) {
      const message = 'DATABASE_OWNER_URL logs in as the same role as DATABASE_URL: the app’s role must own nothing'
      if (isProduction) problems.push(message)
      else warnings.push(message)
    }
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return { config: deepFreeze(config), warnings }
}

/**
 * DATABASE_OWNER_URL must reach the database DATABASE_URL names (its migrations are the app's);
 * pushes what is wrong and returns whether both log in as one role.
 */
function databaseUrlsProblem(appUrl: string | undefined, ownerUrl: string, problems: string[]): boolean {
  if (appUrl === undefined) {
    problems.push('DATABASE_OWNER_URL needs DATABASE_URL (the embedded database has roles of its own)')
    return false
  }
  const app = new URL(appUrl)
  const owner = new URL(ownerUrl)
  const where = (u: URL) => `${u.hostname}:${u.port || '5432'}${decodeURIComponent(u.pathname)}`
  if (where(app) !== where(owner)) {
    problems.push('DATABASE_OWNER_URL must name the same host, port and database as DATABASE_URL')
    return false
  }
  return decodeURIComponent(app.username) === decodeURIComponent(owner.username)
}

/** A signing secret's problems, naming where it came from and never its value. */
function secretProblems(name: string, secret: string): string[] {
  if (secret.length < 32) return [`${name} must be at least 32 characters`]
  if (PLACEHOLDER_SECRETS.has(secret.toLowerCase())) return [`${name} is a known placeholder`]
  return []
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/** Loads the config for an entry point: prints problems and exits 2, or prints warnings. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    const { config, warnings } = loadConfig(env)
    for (const warning of warnings) process.stderr.write(`config warning: ${warning}\n`)
    return config
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`config error: ${problem}\n`)
      process.exit(2)
    }
    throw err
  }
}
