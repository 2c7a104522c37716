import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { appRoleProblems, checkAppRoleOrExit } from '../../src/db/role-check.ts'
import { LoginRoles, urlAs } from '../../src/db/roles.ts'
import { adminUrl, createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'

/** The test database as the cluster's superuser, with a password that must never be printed. */
function superuser(databaseUrl: string): string {
  const url = new URL(superuserUrl(databaseUrl))
  url.password = 'never-printed-secret'
  return url.toString()
}

const PRODUCTION = {
  NODE_ENV: 'production',
  CORS_ALLOWED_ORIGINS: 'https://coach.example.com',
  WEB_APP: 'false',
  // Production's default asks for SMTP (email verification); these processes send no mail.
  AUTH_EMAIL_VERIFICATION_REQUIRED: 'false'
}

t.test('the app’s role passes; a superuser, an owner and a BYPASSRLS member of the owner do not', async (t) => {
  const { url, ownerUrl } = await createTestDatabase(t)
  t.same(await appRoleProblems(testSql(t, url)), [], 'sdc_app_login is fit')
  t.same(await appRoleProblems(testSql(t, superuser(url))), ['DATABASE_URL logs in as a superuser'])
  const [asOwner] = await appRoleProblems(testSql(t, ownerUrl))
  t.match(
    asOwner,
    /^DATABASE_URL logs in as the owner \(or a member of the owner\) of schema app, schema pgboss, table /
  )
  t.match(asOwner, / and \d+ more$/, 'a few named, the rest counted')

  const role = `sdc_test_${randomBytes(4).toString('hex')}`
  const admin = testSql(t, adminUrl())
  await admin.unsafe(`create role ${role} login bypassrls in role ${LoginRoles.owner}`)
  t.teardown(() => admin.unsafe(`drop role if exists ${role}`))
  const problems = await appRoleProblems(testSql(t, urlAs(url, role)))
  t.equal(problems.length, 2)
  t.equal(problems[0], 'DATABASE_URL logs in as a role with BYPASSRLS')
  t.match(problems[1], /owner \(or a member of the owner\) of schema app/)
})

t.test('development warns about an unfit role and goes on', async (t) => {
  const { url } = await createTestDatabase(t)
  const { config } = loadConfig({ NODE_ENV: 'development' })
  const lines: [string, string | undefined][] = []
  await checkAppRoleOrExit(config, superuser(url), (line, level) => lines.push([line, level]))
  t.equal(lines.length, 1)
  t.equal(lines[0][1], 'warn')
  t.match(lines[0][0], /^DATABASE_URL logs in as a superuser: row-level security .* sdc_app_login/)
  t.notMatch(lines[0][0], /never-printed-secret|postgres@/)
})

for (const entry of ['src/server.ts', 'jobs/worker.ts']) {
  t.test(`${entry} in production refuses a superuser’s DATABASE_URL, exit 2, naming the variable only`, async (t) => {
    const { url } = await createTestDatabase(t)
    const proc = fork(entry, { ...PRODUCTION, DATABASE_URL: superuser(url), API_PORT: '0' })
    t.equal(await proc.exited, 2)
    const stderr = proc.stderr.join('')
    t.match(stderr, /^database role error: DATABASE_URL logs in as a superuser: use a role without those powers/m)
    t.notMatch(stderr, /never-printed-secret|sdc_test_|127\.0\.0\.1/, 'nothing of the URL')
  })
}

t.test('the worker in production starts as the app’s role', async (t) => {
  const { url } = await createTestDatabase(t)
  const worker = fork('jobs/worker.ts', { ...PRODUCTION, DATABASE_URL: url }, ['--queues', 'maintenance'])
  t.teardown(() => {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/, 30_000)
  worker.child.kill('SIGTERM')
  t.equal(await worker.exited, 0)
  t.notMatch(worker.stderr.join(''), /database role/)
})
