import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.ts'
import { fork } from './helpers/process.ts'

const GOOD_PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'k3v9-ZQ1x!a8Lr0pW7sT2uY5bN4mC6dE',
  DATABASE_URL: 'postgres://app@db.internal:5432/sdc',
  CORS_ALLOWED_ORIGINS: 'https://coach.example.com',
  SMTP_URL: 'smtps://mailer:k3v9-pass@smtp.example.com:465'
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
}

t.test('defaults match the design and the object is frozen', async (t) => {
  const { config } = loadConfig({})
  t.equal(config.env, 'development')
  t.equal(config.apiPort, 3000)
  t.equal(config.jwt.accessTtlSeconds, 900)
  t.equal(config.jwt.refreshTtlSeconds, 7 * 86400)
  t.same(config.corsAllowedOrigins, ['http://localhost:3000', 'http://127.0.0.1:3000'])
  t.equal(config.bodyLimitBytes, 1048576)
  t.same(config.rateLimit, { windowMs: 60000, max: 120 })
  t.same(config.authRateLimit, { windowMs: 60000, max: 12 })
  t.same(config.login, { maxAttempts: 5, attemptWindowMinutes: 15, lockoutMinutes: 15 })
  t.equal(config.requestTelemetrySampleRate, 1)
  t.equal(config.telemetryRetentionDays, 14)
  t.equal(config.shutdownTimeoutMs, 30000)
  t.equal(config.metrics.enabled, false)
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.jwt))
  t.throws(() => {
    ;(config as { apiPort: number }).apiPort = 1
  })
})

t.test('outside development: no fallback secret, no BYPASS_AUTH, no unguarded metrics', async (t) => {
  const test = { NODE_ENV: 'test', JWT_SECRET: GOOD_PRODUCTION.JWT_SECRET }
  t.match(problemsOf({ NODE_ENV: 'test' }), [/^JWT_SECRET is required in test/])
  t.match(problemsOf({ ...test, BYPASS_AUTH: 'true' }), [/^BYPASS_AUTH must not be enabled in test/])
  t.match(problemsOf({ ...test, METRICS_ENABLED: 'true' }), [/^METRICS_ENABLED requires METRICS_GUARD .* in test/])
  t.match(problemsOf({ ...test, JWT_PREVIOUS_SECRETS: 'changeme' }), [/^JWT_PREVIOUS_SECRETS entry 1/])
  t.same(problemsOf({ NODE_ENV: 'development', BYPASS_AUTH: 'true', METRICS_ENABLED: 'true' }), [], 'development may')
  t.equal(loadConfig(test).config.openapiPublic, true)
  t.equal(loadConfig(GOOD_PRODUCTION).config.openapiPublic, false, 'OpenAPI is private in production by default')
  t.equal(loadConfig({ ...GOOD_PRODUCTION, OPENAPI_PUBLIC: 'true' }).config.openapiPublic, true)
})

t.test('a good production environment loads without warnings', async (t) => {
  const { config, warnings } = loadConfig(GOOD_PRODUCTION)
  t.equal(config.isProduction, true)
  t.same(warnings, [])
})

t.test('email verification is on by default in production only; off, production warns without SMTP', async (t) => {
  t.equal(loadConfig(GOOD_PRODUCTION).config.emailVerificationRequired, true, 'production')
  t.equal(loadConfig({}).config.emailVerificationRequired, false, 'development')
  t.equal(
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: GOOD_PRODUCTION.JWT_SECRET }).config.emailVerificationRequired,
    false
  )
  const { SMTP_URL: _smtp, ...withoutSmtp } = GOOD_PRODUCTION
  const off = loadConfig({ ...withoutSmtp, AUTH_EMAIL_VERIFICATION_REQUIRED: 'false' })
  t.equal(off.config.emailVerificationRequired, false, 'an operator may turn it off')
  t.match(off.warnings, [/^SMTP_URL is not set: password-reset mail goes to the development outbox/])
})

const refusals: [string, Record<string, string | undefined>, RegExp][] = [
  ['JWT_SECRET missing', { JWT_SECRET: undefined }, /^JWT_SECRET is required/],
  ['JWT_SECRET short', { JWT_SECRET: 'short-secret' }, /^JWT_SECRET must be at least 32/],
  [
    'JWT_SECRET placeholder',
    { JWT_SECRET: 'development-only-jwt-secret-change-me-000000' },
    /^JWT_SECRET is a known placeholder/
  ],
  ['DATABASE_URL missing', { DATABASE_URL: undefined }, /^DATABASE_URL is required/],
  ['BYPASS_AUTH true', { BYPASS_AUTH: 'true' }, /^BYPASS_AUTH must not be enabled/],
  ['CORS unset', { CORS_ALLOWED_ORIGINS: undefined }, /^CORS_ALLOWED_ORIGINS must be set/],
  ['CORS star', { CORS_ALLOWED_ORIGINS: '*' }, /^CORS_ALLOWED_ORIGINS must not be \*/],
  ['metrics without guard', { METRICS_ENABLED: 'true' }, /^METRICS_ENABLED requires METRICS_GUARD/],
  ['TRUST_PROXY true', { TRUST_PROXY: 'true' }, /^TRUST_PROXY must list trusted proxy/],
  ['TRUST_PROXY everything', { TRUST_PROXY: '10.0.0.1,0.0.0.0/0' }, /^TRUST_PROXY must not trust networks wider/],
  ['TRUST_PROXY a /4', { TRUST_PROXY: '10.0.0.0/4' }, /^TRUST_PROXY must not trust networks wider/],
  ['TRUST_PROXY every IPv6 address', { TRUST_PROXY: '::/0' }, /^TRUST_PROXY must not trust networks wider/],
  ['TRUST_PROXY all of IPv4 as IPv6', { TRUST_PROXY: '::ffff:0:0/96' }, /^TRUST_PROXY must not trust networks wider/],
  ['TRUST_PROXY IPv4 /0 as IPv6', { TRUST_PROXY: '::ffff:0.0.0.0/100' }, /^TRUST_PROXY must not trust networks wider/],
  ['TRUST_PROXY an IPv6 /32 holding IPv4', { TRUST_PROXY: '::/32' }, /^TRUST_PROXY must not trust networks wider/],
  [
    'a metrics allowlist of the internet',
    { METRICS_ENABLED: 'true', METRICS_GUARD: 'cidr', METRICS_GUARD_ALLOWLIST: '10.0.0.0/8,0.0.0.0/0' },
    /^METRICS_GUARD_ALLOWLIST must not allow networks wider/
  ],
  [
    'a metrics allowlist of IPv4 as IPv6',
    { METRICS_ENABLED: 'true', METRICS_GUARD: 'cidr', METRICS_GUARD_ALLOWLIST: '::ffff:0:0/96' },
    /^METRICS_GUARD_ALLOWLIST must not allow networks wider/
  ],
  ['a ten-year access token', { JWT_ACCESS_TTL: '3650d' }, /^JWT_ACCESS_TTL must be at most 1h in production/],
  ['a year-long refresh token', { JWT_REFRESH_TTL: '365d' }, /^JWT_REFRESH_TTL must be at most 30d in production/],
  [
    'the fallback secret as a previous secret',
    { JWT_PREVIOUS_SECRETS: 'development-only-jwt-secret-change-me-000000' },
    /^JWT_PREVIOUS_SECRETS entry 1 is a known placeholder/
  ],
  [
    'a short previous secret',
    { JWT_PREVIOUS_SECRETS: 'changeme' },
    /^JWT_PREVIOUS_SECRETS entry 1 must be at least 32/
  ],
  ['a short AUDIT_HMAC_KEY', { AUDIT_HMAC_KEY: 'short' }, /^AUDIT_HMAC_KEY must be at least 32/],
  [
    'email verification (on by default) without SMTP',
    { SMTP_URL: undefined },
    /^AUTH_EMAIL_VERIFICATION_REQUIRED needs SMTP_URL/
  ],
  [
    'email verification asked for without SMTP',
    { SMTP_URL: undefined, AUTH_EMAIL_VERIFICATION_REQUIRED: 'true' },
    /^AUTH_EMAIL_VERIFICATION_REQUIRED needs SMTP_URL/
  ],
  [
    'an owner URL on another database',
    { DATABASE_OWNER_URL: 'postgres://owner:owner-secret@db.internal:5432/other' },
    /^DATABASE_OWNER_URL must name the same host, port and database as DATABASE_URL$/
  ],
  [
    'an owner URL on another host',
    { DATABASE_OWNER_URL: 'postgres://owner:owner-secret@db.elsewhere:5432/sdc' },
    /^DATABASE_OWNER_URL must name the same host, port and database as DATABASE_URL$/
  ],
  [
    'an owner URL logging in as the app’s role',
    { DATABASE_OWNER_URL: 'postgres://app:other-password@db.internal/sdc' },
    /^DATABASE_OWNER_URL logs in as the same role as DATABASE_URL/
  ]
]

for (const [name, change, expected] of refusals) {
  t.test(`production refuses: ${name}`, async (t) => {
    const env: Record<string, string> = { ...GOOD_PRODUCTION }
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete env[key]
      else env[key] = value
    }
    const problems = problemsOf(env)
    t.equal(problems.length, 1, problems.join('; '))
    t.match(problems[0], expected)
    for (const value of Object.values(change)) {
      if (value && value.length > 4) t.notMatch(problems[0], value, 'the value is never echoed')
    }
  })
}

const malformed: [string, Record<string, string>, RegExp][] = [
  ['port abc', { API_PORT: 'abc' }, /^API_PORT must be an integer/],
  ['port out of range', { API_PORT: '70000' }, /^API_PORT must be an integer/],
  [
    'sample rate 2',
    { REQUEST_TELEMETRY_SAMPLE_RATE: '2' },
    /^REQUEST_TELEMETRY_SAMPLE_RATE must be a number between 0 and 1/
  ],
  ['boolean yes', { METRICS_ENABLED: 'yes' }, /^METRICS_ENABLED must be true or false/],
  ['duration', { JWT_ACCESS_TTL: 'soon' }, /^JWT_ACCESS_TTL must be a duration/],
  ['node env', { NODE_ENV: 'staging' }, /^NODE_ENV must be one of/],
  ['log level', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
  ['database url', { DATABASE_URL: 'mysql://x' }, /^DATABASE_URL must be a URL/],
  ['database owner url', { DATABASE_OWNER_URL: 'mysql://x' }, /^DATABASE_OWNER_URL must be a URL/],
  ['redis url', { REDIS_URL: 'http://x' }, /^REDIS_URL must be a URL/],
  ['trust proxy entry', { TRUST_PROXY: '10.0.0.0/99' }, /^TRUST_PROXY has an entry/],
  ['metrics guard', { METRICS_GUARD: 'token' }, /^METRICS_GUARD must be secret or cidr/],
  [
    'cors origin with path',
    { CORS_ALLOWED_ORIGINS: 'https://a.example.com/app' },
    /^CORS_ALLOWED_ORIGINS must list origins/
  ]
]

for (const [name, env, expected] of malformed) {
  t.test(`malformed value refused in every environment: ${name}`, async (t) => {
    for (const nodeEnv of ['development', 'production']) {
      const base = nodeEnv === 'production' ? GOOD_PRODUCTION : {}
      const problems = problemsOf({ ...base, NODE_ENV: nodeEnv, ...env })
      t.ok(
        problems.some((p) => expected.test(p)),
        `${nodeEnv}: ${problems.join('; ')}`
      )
    }
  })
}

t.test('DATABASE_OWNER_URL is for migrations: optional, and it must reach DATABASE_URL’s database', async (t) => {
  t.equal(loadConfig(GOOD_PRODUCTION).config.databaseOwnerUrl, undefined, 'unset: migrations use DATABASE_URL')
  const owner = 'postgres://owner:owner-secret@db.internal/sdc'
  const { config, warnings } = loadConfig({ ...GOOD_PRODUCTION, DATABASE_OWNER_URL: owner })
  t.equal(config.databaseOwnerUrl, owner, 'the default port is 5432 on either side')
  t.same(warnings, [])
  t.same(problemsOf({ NODE_ENV: 'development', DATABASE_OWNER_URL: owner }), [
    'DATABASE_OWNER_URL needs DATABASE_URL (the embedded database has roles of its own)'
  ])
  const same = loadConfig({ NODE_ENV: 'development', DATABASE_URL: owner, DATABASE_OWNER_URL: owner })
  t.match(
    same.warnings.filter((w) => w.startsWith('DATABASE_OWNER_URL')),
    [/^DATABASE_OWNER_URL logs in as the same role as DATABASE_URL/],
    'development warns'
  )
  t.same(
    problemsOf({ NODE_ENV: 'development', DATABASE_URL: 'nope', DATABASE_OWNER_URL: owner }),
    ['DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    'an invalid DATABASE_URL is its own problem'
  )
})

t.test('development warns about the fallback secret and in-memory rate limits', async (t) => {
  const { warnings, config } = loadConfig({ NODE_ENV: 'development' })
  t.match(warnings.join('\n'), /JWT_SECRET is not set/)
  t.match(warnings.join('\n'), /REDIS_URL is not set/)
  t.equal(config.jwt.secret.length >= 32, true)
})

t.test('unknown feature flags are listed with a warning, known ones parsed', async (t) => {
  const { warnings, config } = loadConfig({ FLAG_EXPORTS: 'false', FLAG_TELEPORT: 'true' })
  t.equal(config.flags.EXPORTS, false)
  t.equal(config.flags.GRADING, true)
  t.match(warnings.join('\n'), /FLAG_TELEPORT is not a known feature flag/)
})

t.test('a production process with bad config exits non-zero before listening, naming variables only', async (t) => {
  const secret = 'tiny-secret-value'
  const proc = fork('src/server.ts', {
    NODE_ENV: 'production',
    JWT_SECRET: secret,
    BYPASS_AUTH: 'true',
    API_PORT: 'abc'
  })
  const code = await proc.exited
  t.equal(code, 2)
  const stderr = proc.stderr.join('')
  t.match(stderr, /config error: JWT_SECRET must be at least 32 characters/)
  t.match(stderr, /config error: DATABASE_URL is required in production/)
  t.match(stderr, /config error: BYPASS_AUTH must not be enabled in production/)
  t.match(stderr, /config error: API_PORT must be an integer/)
  t.notMatch(stderr, secret)
  t.notMatch(proc.stdout.join(''), /Server listening/)
})

t.test('a development process prints its warnings', async (t) => {
  const proc = fork(
    'src/cli.ts',
    { NODE_ENV: 'development', JWT_SECRET: '', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    ['migrate:status']
  )
  await proc.exited
  t.match(proc.stderr.join(''), /config warning: JWT_SECRET is not set/)
  t.match(proc.stderr.join(''), /config warning: REDIS_URL is not set/)
})

t.test('OTLP export: the endpoint turns tracing on, the protocol is http/protobuf unless told', async (t) => {
  t.equal(loadConfig({}).config.tracing, null, 'no endpoint, no tracing')
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }
  t.match(loadConfig(base).config.tracing, { url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf' })
  t.equal(loadConfig({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).config.tracing?.protocol, 'http/json')
  t.equal(
    loadConfig({
      ...base,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf'
    }).config.tracing?.protocol,
    'http/protobuf',
    'the traces variable wins'
  )
  t.same(problemsOf({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), [
    'OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json'
  ])
  // OTEL_TRACES_EXPORTER=none: traced for the ids (headers, logs, rows), with or without an endpoint, never sent.
  t.match(loadConfig({ OTEL_TRACES_EXPORTER: 'none' }).config.tracing, { url: null, sampler: 'parentbased_always_on' })
  t.equal(loadConfig({ ...base, OTEL_TRACES_EXPORTER: 'none' }).config.tracing?.url, null, 'none wins over an endpoint')
  t.equal(loadConfig({ ...base, OTEL_TRACES_EXPORTER: 'otlp' }).config.tracing?.url, 'http://collector:4318/v1/traces')
  t.same(problemsOf({ OTEL_TRACES_EXPORTER: 'zipkin' }), ['OTEL_TRACES_EXPORTER must be one of otlp, none'])
  t.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_SDK_DISABLED: 'true' }).config.tracing, null)
})

t.test('production accepts narrow ranges in either notation and lifetimes at their bounds', async (t) => {
  const { config } = loadConfig({
    ...GOOD_PRODUCTION,
    TRUST_PROXY: '10.0.0.0/8,::ffff:10.0.0.0/104,2001:db8::/32,::1',
    METRICS_ENABLED: 'true',
    METRICS_GUARD: 'cidr',
    METRICS_GUARD_ALLOWLIST: '10.1.0.0/16,::ffff:192.168.0.0/112',
    JWT_ACCESS_TTL: '1h',
    JWT_REFRESH_TTL: '30d'
  })
  t.same(config.trustProxy, ['10.0.0.0/8', '::ffff:10.0.0.0/104', '2001:db8::/32', '::1'])
  t.equal(config.jwt.accessTtlSeconds, 3600)
  t.equal(config.jwt.refreshTtlSeconds, 30 * 86400)
})
