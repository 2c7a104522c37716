import t from 'tap'
import { hashToken } from '../../src/accounts/accounts.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'
import { bearer, login, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }
const NEW_PASSWORD = 'a fresh and long password'
const MINUTE = 60_000

t.test('password reset and sign-up, through the worker and the development outbox', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  // The app's clock: a test moves it past a link's 30 minutes.
  let offsetMs = 0
  const clock = () => new Date(Date.now() + offsetMs)
  const { app } = await buildTestApp(t, url, ENV, undefined, { clock })
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url, PUBLIC_BASE_URL: 'https://coach.example.com' }, [
    '--queues',
    'email'
  ])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)

  const outbox = (to: string) =>
    sql<
      { subject: string; body: string }[]
    >`select subject, body from app.email_outbox where to_address = ${to} order by created_at`
  const mails = (to: string, count: number) =>
    waitFor(
      async () => {
        const rows = await outbox(to)
        return rows.length >= count ? rows : null
      },
      { what: `${count} mail(s) to ${to}` }
    )
  const resetToken = (body: string) => /\/#\/reset-password\/([A-Za-z0-9_-]{43})$/m.exec(body)?.[1] as string
  const requestReset = (email: string, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url: '/account/password-reset', remoteAddress, payload: { email } })
  const confirm = (token: string, newPassword = NEW_PASSWORD) =>
    app.inject({ method: 'POST', url: '/account/password-reset/confirm', payload: { token, newPassword } })
  /** The email jobs a request enqueued, once the worker is done with them. */
  const finishedJobs = (requestId: string) =>
    waitFor(
      async () => {
        const jobs = await sql<{ state: string; output: Record<string, unknown> }[]>`
          select state, output from pgboss.job where name = 'email' and data ->> 'requestId' = ${requestId}
        `
        return jobs.length > 0 && jobs.every((j) => j.state === 'completed') ? jobs : null
      },
      { what: `the email jobs of ${requestId}` }
    )

  t.test('a reset mails a single-use link that sets a new password and ends every session', async (t) => {
    const user = await registerAndLogin(app)
    const second = await login(app, user.email)
    const asked = await requestReset(user.email)
    t.equal(asked.statusCode, 202)
    t.same(asked.json(), { status: 'accepted' })

    const [mail] = await mails(user.email, 1)
    t.equal(mail.subject, 'Reset your System Design Coach password')
    t.match(mail.body, /valid for 30 minutes/)
    const token = resetToken(mail.body)
    t.ok(token, 'the link is in the fragment of the web app’s address')
    const [stored] = await sql`select token_hash from app.password_reset_tokens where user_id = ${user.id}`
    t.equal(stored.token_hash, hashToken(token), 'only the hash is stored')
    t.notOk(mail.body.includes(stored.token_hash))
    t.notOk(
      worker.stdout.some((line) => line.includes(token)),
      'the worker never logs the link'
    )

    const weak = await confirm(token, 'short')
    t.equal(weak.statusCode, 400, 'the password policy applies')
    t.equal(weak.json().code, 'APP_ERR_VALIDATION')
    const devices = () => sql`select count(*)::int as n from app.login_devices where user_id = ${user.id}`
    t.same(await devices(), [{ n: 2 }], 'two browsers signed in')
    const done = await confirm(token)
    t.equal(done.statusCode, 204)
    t.equal(done.headers['cache-control'], 'no-store')
    t.same(await devices(), [{ n: 0 }], 'a reset forgets every known browser')

    for (const session of [user, second]) {
      t.equal((await app.inject({ url: '/auth/me', headers: bearer(session) })).statusCode, 401, 'access tokens end')
      const refreshed = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refreshToken: session.refreshToken }
      })
      t.equal(refreshed.statusCode, 401, 'refresh families are revoked')
    }
    const old = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: PASSWORD }
    })
    t.equal(old.statusCode, 401, 'the old password is gone')
    t.ok(await login(app, user.email, NEW_PASSWORD), 'the new one works')

    const again = await confirm(token, 'yet another long password')
    t.equal(again.statusCode, 400, 'the link works once')
    t.equal(again.json().code, 'APP_ERR_INVALID_TOKEN')
    t.equal((await confirm('x'.repeat(43))).json().code, 'APP_ERR_INVALID_TOKEN', 'an unknown token fails alike')

    const rows = await sql`
      select action, outcome, user_id, changes from app.audit_log
      where action like 'account.password.reset%' and user_id = ${user.id}
      order by id
    `
    t.same(
      rows.map((r) => [r.action, r.outcome]),
      [
        ['account.password.reset.request', 'success'],
        ['account.password.reset', 'success']
      ]
    )
    t.equal(rows[1].changes.endedSessions, 2)
    t.notOk(JSON.stringify(rows).includes(user.email), 'the audit rows hold the account id, not the address')
  })

  t.test('a link expires after 30 minutes, and a newer link spends the older one', async (t) => {
    const user = await registerAndLogin(app)
    t.equal((await requestReset(user.email)).statusCode, 202)
    await mails(user.email, 1)
    t.equal((await requestReset(user.email)).statusCode, 202)
    const [first, second] = await mails(user.email, 2)
    t.equal((await confirm(resetToken(first.body))).statusCode, 400, 'the older link is spent by the newer')

    const token = resetToken(second.body)
    offsetMs = 31 * MINUTE
    t.teardown(() => {
      offsetMs = 0
    })
    const late = await confirm(token)
    t.equal(late.statusCode, 400, 'past 30 minutes the link fails')
    t.equal(late.json().code, 'APP_ERR_INVALID_TOKEN')
    offsetMs = 29 * MINUTE
    t.equal((await confirm(token)).statusCode, 204, 'within them it works (so time, not use, failed it)')
    offsetMs = 0
  })

  t.test('an unknown or disabled address gets the same answer and the same work, and no mail', async (t) => {
    const known = await registerAndLogin(app)
    const disabled = await registerAndLogin(app)
    await sql`update app.users set disabled_at = now() where id = ${disabled.id}`
    const unknown = uniqueEmail('nobody')
    const answers = []
    for (const email of [known.email, unknown, disabled.email]) {
      const res = await requestReset(email)
      const jobs = await finishedJobs(res.headers['x-request-id'] as string)
      answers.push({ res, jobs })
    }
    const [k, u, d] = answers
    for (const other of [u, d]) {
      t.equal(other.res.statusCode, k.res.statusCode)
      t.same(other.res.json(), k.res.json(), 'the same body')
      t.same(
        Object.keys(other.res.headers).sort(),
        Object.keys(k.res.headers).sort(),
        'the same headers (their values differ only by request)'
      )
      t.equal(other.jobs.length, 1, 'one email job, as for a known address')
    }
    t.match(k.jobs[0].output, { sent: true })
    t.match(u.jobs[0].output, { skipped: 'no account' })
    t.match(d.jobs[0].output, { skipped: 'no account' })
    await mails(known.email, 1)
    t.same(await outbox(unknown), [], 'no mail to an unknown address')
    t.same(await outbox(disabled.email), [], 'nor to a disabled account')
    const [row] = await sql`
      select changes, user_id from app.audit_log
      where action = 'account.password.reset.request' and request_id = ${u.res.headers['x-request-id'] as string}
    `
    t.same(row, { changes: {}, user_id: null }, 'the unknown address is not kept either')
  })

  t.test('reset requests are limited per address (whether it has an account) and per client', async (t) => {
    for (const email of [(await registerAndLogin(app)).email, uniqueEmail('ghost')]) {
      const statuses = []
      // From five addresses: the limit follows the email, not the client.
      for (let i = 0; i < 6; i++) statuses.push((await requestReset(email, `198.51.100.${i + 1}`)).statusCode)
      t.same(statuses, [202, 202, 202, 202, 202, 429])
      const refused = await requestReset(email, '198.51.100.99')
      t.equal(refused.json().code, 'APP_ERR_RATE_LIMITED')
      t.ok(Number(refused.headers['retry-after']) > 3000, 'retry in about an hour')
    }
    const { app: strict } = await buildTestApp(t, url, { AUTH_RATE_LIMIT_MAX_REQUESTS: '3' })
    const statuses = []
    for (let i = 0; i < 4; i++) {
      const res = await strict.inject(
        i % 2
          ? {
              method: 'POST',
              url: '/account/password-reset/confirm',
              payload: { token: 'y'.repeat(43), newPassword: NEW_PASSWORD }
            }
          : { method: 'POST', url: '/account/password-reset', payload: { email: uniqueEmail() } }
      )
      statuses.push(res.statusCode)
    }
    t.same(statuses, [202, 400, 202, 429], 'both routes spend the client’s auth budget')
  })

  t.test('with verification on, sign-up answers 202 for a new and a taken email; the owner is told', async (t) => {
    const { app: verifying } = await buildTestApp(t, url, { ...ENV, AUTH_EMAIL_VERIFICATION_REQUIRED: 'true' })
    const owner = await registerAndLogin(app)
    const fresh = uniqueEmail('fresh')
    const signUp = (email: string, password: string) =>
      verifying.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password, displayName: 'Someone Else' }
      })
    const created = await signUp(fresh, PASSWORD)
    const taken = await signUp(owner.email.toUpperCase(), 'the intruder’s long password')
    t.equal(created.statusCode, 202)
    t.equal(taken.statusCode, 202)
    t.same(taken.json(), created.json(), 'the same body')
    t.same(created.json(), { status: 'accepted' })

    const [verify] = await mails(fresh, 1)
    t.match(verify.body, /verify-email\?token=/, 'a new address gets its confirmation link')
    const [told] = await mails(owner.email, 1)
    t.equal(told.subject, 'Someone tried to sign up with your address')
    t.match(told.body, /https:\/\/coach\.example\.com\/#\/forgot-password/)
    t.same(
      await sql`select count(*)::int as n from app.users where email_normalized = ${owner.email.toLowerCase()}`,
      [{ n: 1 }],
      'no second account'
    )
    t.ok(await login(app, owner.email), 'and the owner’s password is unchanged')

    const again = await signUp(owner.email, 'the intruder’s long password')
    t.equal(again.statusCode, 202)
    t.equal(
      (
        await sql`select count(*)::int as n from pgboss.job where name = 'email' and data ->> 'kind' = 'signup-taken' and data ->> 'userId' = ${owner.id}`
      )[0].n,
      1,
      'the owner is told once an hour at most'
    )
    const rows = await sql`
      select action, changes from app.audit_log
      where request_id in ${sql([created.headers['x-request-id'] as string, taken.headers['x-request-id'] as string])}
      order by id
    `
    t.same(
      rows.map((r) => r.action),
      ['auth.register', 'auth.register.taken']
    )
    t.notOk(JSON.stringify(rows).match(/fresh-|Someone Else/i), 'neither address nor name is kept')
  })

  t.test('with verification off (development), a taken email is a 409', async (t) => {
    const owner = await registerAndLogin(app)
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: owner.email, password: PASSWORD, displayName: 'Again' }
    })
    t.equal(res.statusCode, 409)
    t.equal(res.json().code, 'APP_ERR_EMAIL_TAKEN')
    const fresh = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: uniqueEmail(), password: PASSWORD, displayName: 'New' }
    })
    t.equal(fresh.statusCode, 201, 'and a new one a 201 with the user')
    t.equal(fresh.json().emailVerified, false)
  })
})
