// Issue 32: a stranger failing logins for someone's email must not keep them out. The owner's own
// browsers (the device cookie) keep a budget of their own; an unknown browser past the account's
// threshold is sent a one-time sign-in link; a class behind one address is not the attacker.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { hashPassword } from '../../src/accounts/accounts.ts'
import { loginHasher } from '../../src/accounts/lockout.ts'
import { insertUser } from '../../src/accounts/users.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { fork, TEST_JWT_SECRET } from '../helpers/process.ts'
import { PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const LOOSE = { AUTH_RATE_LIMIT_MAX_REQUESTS: '100000', RATE_LIMIT_MAX_REQUESTS: '100000' }
const WRONG = 'wrong password!!'

/** The value of a cookie the response sets (name=value), or undefined. */
function cookieSet(res: LightMyRequestResponse, name: string): string | undefined {
  const set = [res.headers['set-cookie'] ?? []].flat() as string[]
  return set.find((c) => c.startsWith(`${name}=`))
}
const deviceOf = (res: LightMyRequestResponse) => cookieSet(res, '__Host-sdc_device')?.split(';')[0]

function loginFrom(app: FastifyInstance, remoteAddress: string, email: string, password: string, cookie?: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress,
    headers: cookie ? { cookie } : {},
    payload: { email, password }
  })
}

/** Twenty failures (the account threshold) and more, from as many addresses: no address reaches its own limit. */
async function flood(app: FastifyInstance, email: string, failures = 24) {
  for (let i = 0; i < failures; i++) await loginFrom(app, `192.0.2.${i + 1}`, email, WRONG)
}

t.test('an attacker failing logins for an email from many addresses keeps no one out', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, LOOSE)
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url, PUBLIC_BASE_URL: 'https://coach.example.com' }, [
    '--queues',
    'email'
  ])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)
  const outbox = (to: string) =>
    sql<{ body: string }[]>`select body from app.email_outbox where to_address = ${to} order by created_at`
  const linkIn = (body: string) => /#\/sign-in-link\/([A-Za-z0-9_-]{43})/.exec(body)?.[1] as string

  t.test('the owner’s own device signs in with its cookie, however long the attack goes on', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const first = await loginFrom(app, '198.51.100.1', email, PASSWORD)
    t.equal(first.statusCode, 200)
    t.match(
      cookieSet(first, '__Host-sdc_device'),
      /^__Host-sdc_device=v1\.[0-9a-f-]{36}\.[\w-]{22}\.[\w-]{43}; Path=\/; Max-Age=15552000; HttpOnly; Secure; SameSite=Strict$/,
      'a signed, HttpOnly, __Host- device cookie'
    )
    const device = deviceOf(first) as string

    await flood(app, email)
    t.equal(
      (await loginFrom(app, '198.51.100.1', email, PASSWORD)).json().code,
      'APP_ERR_LOGIN_CHALLENGE',
      'without it'
    )
    const mine = await loginFrom(app, '198.51.100.1', email, PASSWORD, device)
    t.equal(mine.statusCode, 200, 'with it: in')
    t.equal(deviceOf(mine), device, 'the same device id, re-signed')
    // Another 24 failures and 24 right passwords from 24 addresses: the device still gets in.
    await flood(app, email)
    for (let i = 0; i < 24; i++) {
      const res = await loginFrom(app, `198.51.100.${i + 2}`, email, PASSWORD, device)
      if (res.statusCode !== 200) t.fail(`attempt ${i + 1}: ${res.statusCode}`)
    }
    t.pass('24 logins from the device, each 200')

    // A tampered cookie, or one of another account, is a stranger's.
    const parts = device.split('.')
    parts[2] = `${parts[2][0] === 'A' ? 'B' : 'A'}${parts[2].slice(1)}`
    const tampered = parts.join('.')
    t.equal((await loginFrom(app, '198.51.100.1', email, PASSWORD, tampered)).json().code, 'APP_ERR_LOGIN_CHALLENGE')
    const other = uniqueEmail()
    await registerAndLogin(app, other)
    const otherDevice = deviceOf(await loginFrom(app, '198.51.100.50', other, PASSWORD)) as string
    t.equal(
      (await loginFrom(app, '198.51.100.1', email, PASSWORD, otherDevice)).json().code,
      'APP_ERR_LOGIN_CHALLENGE',
      'a cookie minted for one’s own account buys nothing at another'
    )
  })

  t.test(
    'a new device is challenged, the right password mails a one-time link, and the link signs it in',
    async (t) => {
      const email = uniqueEmail()
      await registerAndLogin(app, email)
      await flood(app, email)
      const challenged = await loginFrom(app, '198.51.100.60', email, PASSWORD)
      t.equal(challenged.statusCode, 401)
      t.match(challenged.json(), { code: 'APP_ERR_LOGIN_CHALLENGE', message: /we emailed you a sign-in link/ })
      t.notOk(deviceOf(challenged), 'no device cookie before the link is used')
      const [mail] = await waitFor(async () => ((await outbox(email)).length ? outbox(email) : null), {
        what: 'the sign-in link in the outbox'
      })
      t.match(mail.body, /https:\/\/coach\.example\.com\/#\/sign-in-link\/[\w-]{43}/)
      const token = linkIn(mail.body)
      const [stored] = await sql`select token_hash, expires_at - created_at as ttl from app.login_link_tokens`
      t.not(stored.token_hash, token, 'only the hash is stored')

      // More challenges (an attacker who knows the password, or the owner retrying): no more mail for now.
      for (let i = 0; i < 5; i++) await loginFrom(app, `198.51.100.${61 + i}`, email, PASSWORD)
      const [jobs] = await sql`
      select count(*)::int as n from pgboss.job
      where name = 'email' and data ->> 'kind' = 'login-link' and data ->> 'userId' = (select id::text from app.users where email = ${email})
    `
      t.equal(jobs.n, 1, 'one mail per account per five minutes')

      const used = await app.inject({
        method: 'POST',
        url: '/auth/login-link',
        remoteAddress: '198.51.100.60',
        headers: { 'x-refresh-cookie': '1' },
        payload: { token }
      })
      t.equal(used.statusCode, 200)
      t.equal(used.headers['cache-control'], 'no-store')
      t.match(used.json(), { tokenType: 'Bearer', user: { email, emailVerified: true } })
      t.notOk('refreshToken' in used.json(), 'browser mode: the refresh token only in its cookie')
      t.ok(cookieSet(used, '__Secure-sdc_refresh'))
      const device = deviceOf(used) as string
      t.ok(device, 'the device is known from now on')
      const again = await app.inject({ method: 'POST', url: '/auth/login-link', payload: { token } })
      t.equal(again.statusCode, 400, 'single use')
      t.equal(again.json().code, 'APP_ERR_INVALID_TOKEN')
      t.equal(
        (await loginFrom(app, '198.51.100.60', email, PASSWORD, device)).statusCode,
        200,
        'the new device gets in'
      )
      const [audit] =
        await sql`select user_id, outcome, changes from app.audit_log where action = 'auth.login.link' and outcome = 'success'`
      t.match(audit, { outcome: 'success', changes: { via: 'link' } })
    }
  )

  t.test('a link expires, and a wrong password never mails one', async (t) => {
    const email = uniqueEmail()
    const user = await registerAndLogin(app, email)
    await flood(app, email)
    const wrong = await loginFrom(app, '198.51.100.70', email, WRONG)
    t.equal(wrong.json().code, 'APP_ERR_LOGIN_CHALLENGE', 'the same answer as the right password')
    await loginFrom(app, '198.51.100.71', email, PASSWORD)
    const [mail] = await waitFor(async () => ((await outbox(email)).length ? outbox(email) : null))
    const [{ n }] =
      await sql`select count(*)::int as n from pgboss.job where name = 'email' and data ->> 'userId' = ${user.id}`
    t.equal(n, 1, 'only the right password queued a mail')
    await sql`update app.login_link_tokens set expires_at = now() - interval '1 second' where user_id = ${user.id}`
    const late = await app.inject({ method: 'POST', url: '/auth/login-link', payload: { token: linkIn(mail.body) } })
    t.equal(late.statusCode, 400)
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/login-link', payload: { token: 'x'.repeat(43) } })).statusCode,
      400
    )
  })

  t.test('a known device has a budget of its own: five failures lock the device, not its address', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const device = deviceOf(await loginFrom(app, '203.0.113.30', email, PASSWORD)) as string
    for (let i = 0; i < 5; i++) {
      t.equal((await loginFrom(app, '203.0.113.30', email, WRONG, device)).statusCode, 401, `device failure ${i + 1}`)
    }
    const [row] = await sql`select failed_count, locked_until from app.login_devices`.then((rows) =>
      rows.filter((r) => r.failed_count === 5)
    )
    t.ok(row?.locked_until, 'the device is locked')
    const [lockout] =
      await sql`select resource_type, changes from app.audit_log where action = 'auth.lockout' and resource_type = 'device'`
    t.match(lockout, { resource_type: 'device', changes: { failures: 5 } })
    const [counted] = await sql`select count(*)::int as n from app.login_lockouts where email_normalized = ${email}`
    t.equal(counted.n, 0, 'nothing counted against the address or the account')
    // A locked device is a stranger: its address's budget is fresh, so the right password works.
    const back = await loginFrom(app, '203.0.113.30', email, PASSWORD, device)
    t.equal(back.statusCode, 200)
    const [cleared] = await sql`select count(*)::int as n from app.login_devices where failed_count > 0`
    t.equal(cleared.n, 0, 'and signing in clears the device’s failures')
  })

  t.test('changing the password forgets every other device', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const laptopLogin = await loginFrom(app, '203.0.113.40', email, PASSWORD)
    const laptop = deviceOf(laptopLogin) as string
    const phone = deviceOf(await loginFrom(app, '203.0.113.41', email, PASSWORD)) as string
    const changed = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: { authorization: `Bearer ${laptopLogin.json().accessToken}`, cookie: laptop },
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }
    })
    t.equal(changed.statusCode, 204)
    await flood(app, email)
    t.equal(
      (await loginFrom(app, '203.0.113.40', email, 'a brand new passphrase', laptop)).statusCode,
      200,
      'the laptop'
    )
    const fromPhone = await loginFrom(app, '203.0.113.41', email, 'a brand new passphrase', phone)
    t.equal(fromPhone.json().code, 'APP_ERR_LOGIN_CHALLENGE', 'the phone is a stranger again')
  })

  t.test(
    'a failed login’s audit row keeps only that it failed, the client and a keyed hash of the email',
    async (t) => {
      const email = uniqueEmail('Audit.Me')
      await registerAndLogin(app, email)
      await app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: '203.0.113.77',
        headers: { 'x-request-id': 'device-audit-fail' },
        payload: { email: email.toUpperCase(), password: 'canary-password-plugh' }
      })
      const [row] = await waitFor(() =>
        sql`select outcome, status_code, ip_address, changes from app.audit_log where request_id = 'device-audit-fail'`.then(
          (r) => (r.length ? r : null)
        )
      )
      t.same(row.changes, { loginHash: loginHasher(TEST_JWT_SECRET)(email.toLowerCase()) })
      t.match(row, { outcome: 'denied', status_code: 401, ip_address: '203.0.113.77' })
    }
  )
})

t.test(
  'a class of 40 behind one school address signs in on its own devices; a stranger there is still limited',
  async (t) => {
    const { url } = await createTestDatabase(t)
    // The production defaults: 12 requests a minute to /auth/* per address.
    const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '100000' })
    const school = '198.51.100.200'
    const learners: { email: string; device: string }[] = []
    for (let i = 0; i < 40; i++) {
      const email = uniqueEmail(`learner${i}`)
      await insertUser(app.sql, { email, passwordHash: await hashPassword(PASSWORD) })
      // Each signed in once before, from home (an address of their own).
      const home = await loginFrom(app, `10.0.${i}.1`, email, PASSWORD)
      learners.push({ email, device: deviceOf(home) as string })
    }
    const statuses: number[] = []
    for (const { email, device } of learners)
      statuses.push((await loginFrom(app, school, email, PASSWORD, device)).statusCode)
    t.same(new Set(statuses), new Set([200]), 'all 40 sign in from one address')

    // The address's own budget is untouched by them, and still stops a stranger there.
    const victim = learners[0].email
    const stranger: number[] = []
    for (let i = 0; i < 13; i++) stranger.push((await loginFrom(app, school, uniqueEmail('spray'), WRONG)).statusCode)
    t.same(stranger.slice(0, 12), Array(12).fill(401), 'twelve tries a minute')
    t.equal(stranger[12], 429, 'then throttled')
    // A device cookie of one's own account is no way round it.
    const own = learners[1].device
    const res = await loginFrom(app, school, victim, WRONG, own)
    t.equal(res.statusCode, 429, 'another account’s login with my cookie counts against the address')
    t.equal((await loginFrom(app, school, learners[2].email, PASSWORD, learners[2].device)).statusCode, 200)
  }
)

t.test('the refresh cookie: __Secure- prefixed, and refused when the request carries it twice', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, LOOSE)
  const email = uniqueEmail()
  await registerAndLogin(app, email)
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'x-refresh-cookie': '1' },
    payload: { email, password: PASSWORD }
  })
  const refresh = cookieSet(res, '__Secure-sdc_refresh') as string
  t.match(refresh, /^__Secure-sdc_refresh=[\w-]{43}; Path=\/auth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/)
  const mine = refresh.split(';')[0]
  const planted = `__Secure-sdc_refresh=${'p'.repeat(43)}`
  const twice = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { 'x-refresh-cookie': '1', cookie: `${planted}; ${mine}` },
    payload: {}
  })
  t.equal(twice.statusCode, 400)
  t.match(twice.json(), { code: 'APP_ERR_DUPLICATE_COOKIE', message: /__Secure-sdc_refresh cookie more than once/ })
  t.match(cookieSet(twice, '__Secure-sdc_refresh'), /Max-Age=0/, 'the host’s own is cleared')
  const legacy = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { 'x-refresh-cookie': '1', cookie: `sdc_refresh=${mine.split('=')[1]}` },
    payload: {}
  })
  t.equal(legacy.statusCode, 401, 'the unprefixed name is not read')
  const once = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { 'x-refresh-cookie': '1', cookie: mine },
    payload: {}
  })
  t.equal(once.statusCode, 200, 'the cookie alone still works (the 400 revoked nothing)')
})
