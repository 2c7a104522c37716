import t from 'tap'
import { loginHasher } from '../../src/accounts/lockout.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
import { fork, TEST_JWT_SECRET } from '../helpers/process.ts'
import { bearer, createAdmin, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const ENV = { AUTH_RATE_LIMIT_MAX_REQUESTS: '100000', RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('login lockout', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  let now = new Date()
  const clock = () => now
  const { app } = await buildTestApp(t, url, ENV, undefined, { clock })
  // A second instance on the same database: lockouts live in Postgres, not in memory.
  const { app: other } = await buildTestApp(t, url, ENV, undefined, { clock })

  const attempt = (target: typeof app, email: string, password: string) =>
    target.inject({ method: 'POST', url: '/auth/login', payload: { email, password } })

  t.test('five failures lock the email; the right password is then refused with 423 and Retry-After', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 1; i <= 5; i++)
      t.equal((await attempt(app, email, 'wrong password!!')).statusCode, 401, `failure ${i}`)
    const locked = await attempt(app, email, PASSWORD)
    t.equal(locked.statusCode, 423)
    t.equal(locked.json().code, 'APP_ERR_ACCOUNT_LOCKED')
    t.equal(locked.headers['retry-after'], String(15 * 60))
    t.equal((await attempt(other, email, PASSWORD)).statusCode, 423, 'the other instance sees the lock')
    // The lock's row names the email by its keyed hash only.
    const loginHash = loginHasher(TEST_JWT_SECRET)(email)
    const [event] =
      await sql`select action, outcome, changes from app.audit_log where action = 'auth.lockout' and resource_id = ${loginHash}`
    t.match(event, { action: 'auth.lockout', outcome: 'denied', changes: { loginHash, failures: 5 } })
    t.notMatch(JSON.stringify(event.changes), email)
  })

  t.test('failures counted across two instances lock alike', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 0; i < 5; i++) await attempt(i % 2 ? app : other, email, 'wrong password!!')
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 423)
  })

  t.test('an unknown email locks the same way (no enumeration)', async (t) => {
    const ghost = uniqueEmail('ghost')
    for (let i = 0; i < 5; i++) t.equal((await attempt(app, ghost, 'wrong password!!')).statusCode, 401)
    const res = await attempt(app, ghost, 'wrong password!!')
    t.equal(res.statusCode, 423)
    t.ok(res.headers['retry-after'])
  })

  t.test('the lock expires after AUTH_LOGIN_LOCKOUT_MINUTES', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 0; i < 5; i++) await attempt(app, email, 'wrong password!!')
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 423)
    now = new Date(now.getTime() + 14 * 60_000)
    const later = await attempt(app, email, PASSWORD)
    t.equal(later.statusCode, 423)
    t.equal(later.headers['retry-after'], '60')
    now = new Date(now.getTime() + 61_000)
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 200)
    now = new Date()
  })

  t.test('failures outside the window do not add up', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 0; i < 4; i++) await attempt(app, email, 'wrong password!!')
    now = new Date(now.getTime() + 16 * 60_000)
    for (let i = 0; i < 4; i++) await attempt(app, email, 'wrong password!!')
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 200)
    now = new Date()
  })

  t.test('an admin unlocks through the API', async (t) => {
    const admin = await createAdmin(app)
    const email = uniqueEmail()
    const user = await registerAndLogin(app, email)
    for (let i = 0; i < 5; i++) await attempt(app, email, 'wrong password!!')
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 423)
    const res = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/unlock`, headers: bearer(admin) })
    t.same(res.json(), { id: user.id, unlocked: true })
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 200)
    const [row] =
      await sql`select user_id, outcome from app.audit_log where action = 'admin.user.unlock' and resource_id = ${user.id}`
    t.match(row, { user_id: admin.id, outcome: 'success' })
  })

  t.test('the CLI unlocks, and creates users from a password on stdin', async (t) => {
    const email = uniqueEmail()
    const create = fork('src/cli.ts', { DATABASE_URL: url }, [
      'user:create',
      '--email',
      email,
      '--role',
      'admin',
      '--password-stdin'
    ])
    create.child.stdin?.end(`${PASSWORD}\n`)
    t.equal(await create.exited, 0, create.stderr.join(''))
    t.match(create.stdout.join('\n'), /created admin/)
    const [row] = await sql`select role from app.users where email = ${email}`
    t.equal(row.role, 'admin')
    t.notMatch(create.stdout.join('\n') + create.stderr.join(''), PASSWORD)

    for (let i = 0; i < 5; i++) await attempt(app, email, 'wrong password!!')
    t.equal((await attempt(app, email, PASSWORD)).statusCode, 423)
    const unlock = fork('src/cli.ts', { DATABASE_URL: url }, ['user:unlock', '--email', email.toUpperCase()])
    t.equal(await unlock.exited, 0, unlock.stderr.join(''))
    t.match(unlock.stdout.join('\n'), /unlocked/)
    const res = await attempt(app, email, PASSWORD)
    t.equal(res.statusCode, 200)
    t.equal(res.json().user.role, 'admin')

    const noStdin = fork('src/cli.ts', { DATABASE_URL: url }, ['user:create', '--email', uniqueEmail()])
    t.equal(await noStdin.exited, 2, 'refuses without --password-stdin')
  })
})

t.test('lockout per client: nobody can lock anybody out', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  let now = new Date()
  const { app } = await buildTestApp(t, url, ENV, undefined, { clock: () => now })
  const from = (remoteAddress: string, email: string, password: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress })

  t.test('an attacker’s failures lock the attacker’s address, not the user’s', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 0; i < 5; i++) await from('203.0.113.7', email, 'wrong password!!')
    t.equal((await from('203.0.113.7', email, PASSWORD)).statusCode, 423, 'the attacker is locked out')
    t.equal((await from('198.51.100.2', email, PASSWORD)).statusCode, 200, 'the user, elsewhere, signs in')
    t.equal((await from('203.0.113.7', email, PASSWORD)).statusCode, 423, 'which clears only the user’s own counter')
  })

  t.test('an IPv6 client is its /64: rotating addresses buys no fresh attempts', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    for (let i = 1; i <= 5; i++) await from(`2001:db8:1:2::${i.toString(16)}`, email, 'wrong password!!')
    t.equal((await from('2001:db8:1:2:ffff::1', email, PASSWORD)).statusCode, 423, 'same /64')
    t.equal((await from('2001:db8:1:3::1', email, PASSWORD)).statusCode, 200, 'another /64')
  })

  t.test(
    'past the email-wide ceiling, unknown clients are challenged whatever the password, never slowed',
    async (t) => {
      const email = uniqueEmail()
      await registerAndLogin(app, email)
      // 20 failures (4 × AUTH_LOGIN_MAX_ATTEMPTS) from 20 addresses: each address stays under its own limit.
      for (let i = 0; i < 20; i++) await from(`192.0.2.${i + 1}`, email, 'wrong password!!')
      const right = await from('198.51.100.9', email, PASSWORD)
      t.equal(right.statusCode, 401, 'the right password from a new address is challenged')
      t.equal(right.json().code, 'APP_ERR_LOGIN_CHALLENGE')
      t.notOk(right.headers['retry-after'], 'not a wait')
      const wrong = await from('198.51.100.10', email, 'wrong password!!')
      t.equal(
        wrong.body.replace(/"requestId":"[^"]*"/, ''),
        right.body.replace(/"requestId":"[^"]*"/, ''),
        'a wrong one gets the same answer'
      )
      const ghost = uniqueEmail('ghost')
      for (let i = 0; i < 20; i++) await from(`192.0.2.${i + 1}`, ghost, 'wrong password!!')
      const unknown = await from('198.51.100.11', ghost, PASSWORD)
      t.equal(unknown.json().code, 'APP_ERR_LOGIN_CHALLENGE', 'and so does an email with no account')
      // The challenge is not a lock: 24 right passwords from 24 addresses are each challenged, none throttled.
      const statuses = new Set<number>()
      for (let i = 0; i < 24; i++) statuses.add((await from(`198.51.100.${100 + i}`, email, PASSWORD)).statusCode)
      t.same([...statuses], [401])
      // A wrong password still spends the stranger's own budget: five, and that address is locked out.
      for (let i = 0; i < 5; i++) await from('203.0.113.99', email, 'wrong password!!')
      t.equal((await from('203.0.113.99', email, PASSWORD)).statusCode, 423, 'the attacker’s address is locked')
      // The window ends: a new address signs in with the password alone again.
      now = new Date(now.getTime() + 16 * 60_000)
      t.equal((await from('198.51.100.9', email, PASSWORD)).statusCode, 200)
      now = new Date()
    }
  )

  t.test('expired rows are deleted by housekeeping; an unlock clears every client', async (t) => {
    const { maintainLoginFailures } = await import('../../jobs/maintenance.ts')
    const ghost = uniqueEmail('ghost')
    for (let i = 0; i < 3; i++) await from(`192.0.2.${i + 1}`, ghost, 'wrong password!!')
    await sql`update app.login_lockouts set updated_at = now() - interval '2 hours' where email_normalized = ${ghost}`
    t.equal(await maintainLoginFailures(sql, 60), 4, 'three clients and the email-wide row')
    const email = uniqueEmail()
    const user = await registerAndLogin(app, email)
    for (let i = 0; i < 5; i++) await from('203.0.113.50', email, 'wrong password!!')
    const admin = await createAdmin(app)
    const unlock = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/unlock`, headers: bearer(admin) })
    t.same(unlock.json(), { id: user.id, unlocked: true })
    t.equal((await from('203.0.113.50', email, PASSWORD)).statusCode, 200)
  })
})
