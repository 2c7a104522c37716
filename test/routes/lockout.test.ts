import t from 'tap'
import { fork } from '../../reliability/lib/process.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
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
    const [event] =
      await sql`select action, outcome from app.audit_log where action = 'auth.lockout' and resource_id = ${email}`
    t.match(event, { action: 'auth.lockout', outcome: 'denied' })
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
