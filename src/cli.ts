import { parseArgs } from 'node:util'
import { JOBS } from '../jobs/registry.ts'
import { loadConfigOrExit } from './config.ts'
import { createSql, type Sql, type TransactionSql } from './db/client.ts'
import { MigrationError, migrate, migrationStatus } from './db/migrate.ts'
import { resolveDatabase } from './db/resolve.ts'
import { UNAVAILABLE_CODES } from './errors.ts'
import { JOB_STATES } from './queue/jobs.ts'
import { prepareQueues, queueNames } from './queue/queues.ts'

const USAGE = `usage: npm run cli -- <command>

commands:
  migrate           apply pending migrations (and install the queue schema) as DATABASE_OWNER_URL
                    (DATABASE_URL when unset); every other command runs as DATABASE_URL
  migrate:status    list applied and pending migrations; exit 1 when any is pending or edited
  user:create --email E [--role user|admin] [--display-name N] --password-stdin
                    create a user; the password is read from standard input, never from argv
  org:create --name N --owner-email E
                    create an organisation whose owner (its first instructor) is the existing user E
                    (make them first with user:create); audited, the row carrying the organisation
  user:unlock --email E
                    clear the login lockout of an email
  docs:authz        regenerate docs/authz-matrix.md from the route table
  audit:verify      recompute the audit log's hash chain; exit 1 at the first broken row
  jobs:list [--queue Q] [--state S] [--limit N] [--json]
                    the newest jobs, optionally of one queue and in one state
  jobs:retry <queue> <id> | jobs:retry <queue> --failed-since <30m|6h|2d> [--dry-run]
                    retry a failed or cancelled job, or every job of the queue that failed since
                    then; audited like the admin API's retry (--dry-run lists them and changes nothing)
  health [--check] [--json]
                    run the SQL health checks in sql/health; --check exits 1 naming each breached
                    baseline (for cron or a probe); --json prints machine-readable output
`

const out = (text: string) => process.stdout.write(`${text}\n`)
const err = (text: string) => process.stderr.write(`${text}\n`)

/**
 * What an operator should do about a database error the commands cannot go on from, in one line;
 * null for anything else (a bug: its stack trace is more use).
 */
function databaseProblem(e: unknown): string | null {
  const { code, message } = e as { code?: string; message?: string }
  if (code && UNAVAILABLE_CODES.has(code))
    return `cannot reach the database (${message}): is it running, and is DATABASE_URL right?`
  if (code === '42P01' || code === '3F000')
    return `the database has no System Design Coach schema (${message}): run \`npm run migrate\`, or check that DATABASE_URL names the right database`
  if (code === '28P01' || code === '28000')
    return `the database refused the login (${message}): check the user and password in DATABASE_URL`
  if (code === '3D000') return `${message}: check the database name in DATABASE_URL`
  if (code === '42501')
    return `${message}: migrate runs as DATABASE_OWNER_URL (the owner; DATABASE_URL when unset), every other command as DATABASE_URL`
  return null
}

const [command, ...args] = process.argv.slice(2)
const commands: Record<string, (url: string, args: string[]) => Promise<number>> = {
  async migrate(url) {
    const sql = createSql(url, { max: 2, applicationName: 'sdc-migrate' })
    try {
      const { applied } = await migrate(sql, { log: out })
      out(applied.length === 0 ? 'migrations: nothing to apply' : `migrations: applied ${applied.length}`)
      await prepareQueues(sql, JOBS, { installSchema: true })
      out('queue schema: ready')
      return 0
    } finally {
      await sql.end()
    }
  },
  async 'migrate:status'(url) {
    const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
    try {
      const status = await migrationStatus(sql)
      for (const m of status.applied) {
        const mark = m.checksumMatches ? 'applied' : 'EDITED '
        out(`${mark}  ${String(m.version).padStart(4, '0')}_${m.name}  ${m.appliedAt.toISOString()}`)
      }
      for (const m of status.pending) out(`pending  ${String(m.version).padStart(4, '0')}_${m.name}`)
      out(
        `${status.applied.length} applied, ${status.pending.length} pending, ${status.drifted.length} edited after applying`
      )
      return status.pending.length > 0 || status.drifted.length > 0 ? 1 : 0
    } finally {
      await sql.end()
    }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

/** Audits a CLI action like any other mutation: operators' changes are on the record too. */
async function auditCli(
  sql: Sql | TransactionSql,
  action: string,
  resourceId: string | null,
  changes: unknown,
  resourceType = 'user'
): Promise<void> {
  const { insertAudit, operatorRecord } = await import('./audit/store.ts')
  await insertAudit(sql, operatorRecord(action, resourceType, resourceId, changes))
}

commands['user:create'] = async (url, argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      email: { type: 'string' },
      role: { type: 'string', default: 'user' },
      'display-name': { type: 'string' },
      'password-stdin': { type: 'boolean', default: false }
    }
  })
  if (!values.email || !values['password-stdin'] || !['user', 'admin'].includes(values.role as string)) {
    err('usage: user:create --email E [--role user|admin] [--display-name N] --password-stdin')
    return 2
  }
  const password = await readStdin()
  if (password.length < 12 || password.length > 256) {
    err('error: the password must be 12 to 256 characters')
    return 2
  }
  const { hashPassword } = await import('./accounts/accounts.ts')
  const { insertUser } = await import('./accounts/users.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const email = values.email.trim()
    const id = (
      await insertUser(sql, {
        email,
        passwordHash: await hashPassword(password),
        role: values.role as 'user' | 'admin',
        displayName: values['display-name']
      })
    )?.id
    if (!id) {
      err(`error: a user with email ${email} already exists`)
      return 1
    }
    await auditCli(sql, 'cli.user.create', id, { email, role: values.role })
    out(`created ${values.role} ${email} (${id})`)
    return 0
  } finally {
    await sql.end()
  }
}

commands['org:create'] = async (url, argv) => {
  const { values } = parseArgs({ args: argv, options: { name: { type: 'string' }, 'owner-email': { type: 'string' } } })
  const name = values.name?.trim()
  if (!name || name.length > 120 || !values['owner-email']) {
    err('usage: org:create --name N (1 to 120 characters) --owner-email E')
    return 2
  }
  const { normalizeEmail } = await import('./accounts/accounts.ts')
  const { accountByEmail } = await import('./accounts/users.ts')
  const { withContext } = await import('./db/context.ts')
  const { insertOrganisation } = await import('./routes/classes/store.ts')
  const { insertAudit, operatorRecord } = await import('./audit/store.ts')
  const { uuidv7 } = await import('./ids.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const owner = await accountByEmail(sql, normalizeEmail(values['owner-email']))
    if (!owner) {
      err(`error: no user has the email ${values['owner-email']} (create one with user:create)`)
      return 1
    }
    const id = uuidv7()
    // As the owner would through POST /orgs: the policies admit the rows for that user only.
    await withContext(sql, { userId: owner.id, organisationId: id }, (tx) =>
      insertOrganisation(
        tx,
        insertAudit(tx, {
          ...operatorRecord('cli.organisation.create', 'organisation', id, { ownerId: owner.id }),
          organisation_id: id
        }),
        { id, name, ownerId: owner.id }
      )
    )
    out(`created organisation ${name} (${id}), owned by ${values['owner-email']}`)
    return 0
  } finally {
    await sql.end()
  }
}

commands['user:unlock'] = async (url, argv) => {
  const { values } = parseArgs({ args: argv, options: { email: { type: 'string' } } })
  if (!values.email) {
    err('usage: user:unlock --email E')
    return 2
  }
  const { normalizeEmail } = await import('./accounts/accounts.ts')
  const { clearFailures } = await import('./accounts/lockout.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const email = normalizeEmail(values.email)
    const cleared = await clearFailures(sql, email)
    await auditCli(sql, 'cli.user.unlock', email, { unlocked: cleared })
    out(cleared ? `unlocked ${email}` : `${email} had no failed logins or lockout`)
    return 0
  } finally {
    await sql.end()
  }
}

commands['audit:verify'] = async (url) => {
  const { verifyAuditChain } = await import('./audit/chain.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const verdict = await verifyAuditChain(sql, { hmacKey: loadConfigOrExit().auditHmacKey })
    if (!verdict.ok) {
      err(`audit chain BROKEN at row ${verdict.brokenId}: ${verdict.reason} (${verdict.rows} rows verified before it)`)
      return 1
    }
    out(`audit chain verified: ${verdict.rows} rows, ${verdict.anchors} anchors`)
    if (verdict.lastId)
      out(`last row ${verdict.lastId} hash ${verdict.lastHash} (keep it elsewhere to detect a cut tail)`)
    return 0
  } finally {
    await sql.end()
  }
}

commands.health = async (url, argv) => {
  const { values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, json: { type: 'boolean' } } })
  const { breachedBaselines, formatTable, readHealthChecks, runHealthCheck } = await import('./db/health.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const checks = await readHealthChecks()
    if (values.check) {
      const { rows, breaches } = await breachedBaselines(sql, checks)
      if (values.json) out(JSON.stringify({ ok: breaches.length === 0, baselines: rows, breaches }))
      else {
        for (const b of breaches) err(`BREACHED ${b.baseline}: ${b.value} (threshold ${b.threshold})`)
        if (breaches.length === 0) out(`all ${rows.length} baselines met`)
      }
      return breaches.length > 0 ? 1 : 0
    }
    const results: Record<string, unknown> = {}
    for (const check of checks) {
      const rows = await runHealthCheck(sql, check)
      results[check.name] = rows
      if (!values.json) out(`\n== ${check.name}: ${check.title}\n${formatTable(rows)}`)
    }
    if (values.json) out(JSON.stringify(results))
    return 0
  } finally {
    await sql.end()
  }
}

const QUEUE_NAMES = queueNames(JOBS)

commands['jobs:list'] = async (url, argv) => {
  const { values } = parseArgs({
    args: argv,
    options: {
      queue: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean' }
    }
  })
  const limit = Number(values.limit)
  if (
    (values.queue && !QUEUE_NAMES.includes(values.queue)) ||
    (values.state && !(JOB_STATES as readonly string[]).includes(values.state)) ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > 1000
  ) {
    err(
      `usage: jobs:list [--queue ${QUEUE_NAMES.join('|')}] [--state ${JOB_STATES.join('|')}] [--limit 1..1000] [--json]`
    )
    return 2
  }
  const { listJobs } = await import('./queue/statements.ts')
  const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
  try {
    const rows = (await listJobs(sql, values.queue ? [values.queue] : QUEUE_NAMES, values.state, sql``, limit)).slice(
      0,
      limit
    )
    if (values.json) out(JSON.stringify(rows))
    else
      for (const r of rows)
        out(
          `${r.created_on.toISOString()}  ${r.name.padEnd(18)} ${r.state.padEnd(9)} attempt ${r.retry_count + 1}/${r.retry_limit + 1}  ${r.id}`
        )
    return 0
  } finally {
    await sql.end()
  }
}

const DURATION = /^(\d{1,6})(m|h|d)$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

commands['jobs:retry'] = async (url, argv) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'failed-since': { type: 'string' }, 'dry-run': { type: 'boolean', default: false } }
  })
  const [queue, id] = positionals
  const since = DURATION.exec(values['failed-since'] ?? '')
  const byId = id !== undefined && /^[0-9a-f-]{36}$/i.test(id) && !values['failed-since']
  if (!queue || !QUEUE_NAMES.includes(queue) || (!byId && !(since && id === undefined))) {
    err('usage: jobs:retry <queue> <id> | jobs:retry <queue> --failed-since <30m|6h|2d> [--dry-run]')
    return 2
  }
  const { createBoss, fromPostgresJs } = await import('./queue/boss.ts')
  const { failedJobsSince } = await import('./queue/statements.ts')
  const sql = createSql(url, { max: 2, applicationName: 'sdc-cli' })
  const boss = createBoss(sql, { role: 'cli', onError: (e) => err(`queue error: ${e.message}`) })
  await boss.start()
  try {
    let ids: string[]
    if (byId) {
      const job = await boss.getJobById(queue, id)
      if (!job) {
        err(`error: no job ${id} in ${queue}`)
        return 1
      }
      if (job.state !== 'failed' && job.state !== 'cancelled') {
        err(`error: only failed or cancelled jobs can be retried; ${id} is ${job.state}`)
        return 1
      }
      ids = [id]
    } else {
      const [, n, unit] = since as RegExpExecArray
      const from = new Date(Date.now() - Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS])
      ids = (await failedJobsSince(sql, queue, from)).map((r) => r.id)
    }
    if (values['dry-run']) {
      out(`would retry ${ids.length} job(s) of ${queue}${ids.length ? `:\n${ids.join('\n')}` : ''}`)
      return 0
    }
    if (ids.length > 0) {
      await sql.begin(async (tx) => {
        await boss.retry(queue, ids, { db: fromPostgresJs(tx) })
        await auditCli(tx, 'cli.job.retry', ids.length === 1 ? ids[0] : null, { queue, ids }, 'job')
      })
    }
    out(`retried ${ids.length} job(s) of ${queue}`)
    return 0
  } finally {
    await boss.stop({ graceful: false, close: false })
    await sql.end()
  }
}

commands['docs:authz'] = async (url) => {
  const { buildApp } = await import('./app.ts')
  const { MATRIX_ENV, renderAuthzMatrix } = await import('./docs.ts')
  const { writeFile } = await import('node:fs/promises')
  const app = await buildApp(loadConfigOrExit({ ...process.env, ...MATRIX_ENV }), { databaseUrl: url, queues: JOBS })
  try {
    await app.ready()
    const target = new URL('../docs/authz-matrix.md', import.meta.url)
    await writeFile(target, renderAuthzMatrix(app.routeTable))
    out(`wrote ${target.pathname}`)
    return 0
  } finally {
    await app.close()
  }
}

async function main(): Promise<number> {
  const run = command ? commands[command] : undefined
  if (!run) {
    err(command ? `unknown command: ${command}\n` : '')
    err(USAGE)
    return 2
  }
  const config = loadConfigOrExit()
  const { url, ownerUrl, embedded } = await resolveDatabase(config, err)
  try {
    // Only migrations need the owner; every other command is the app's work, done as the app's role.
    return await run(command === 'migrate' ? ownerUrl : url, args)
  } catch (e) {
    const problem = e instanceof MigrationError ? e.message : databaseProblem(e)
    if (problem === null) throw e
    err(`error: ${problem}`)
    return 1
  } finally {
    await embedded?.stop()
  }
}

process.exitCode = await main()
