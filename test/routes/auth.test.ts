import { createSigner } from 'fast-jwt'
import t from 'tap'
import { DEV_USER } from '../../plugins/dev-user.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'
import { bearer, createAdmin, login, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const SECRET = 'test-secret-that-is-long-enough-0123456789'
const OLD_SECRET = 'old-secret-that-is-long-enough-9876543210'
/** How the api signs access tokens (plugins/auth.ts), for tokens the tests forge. */
const SIGNED = { algorithm: 'HS256' as const, iss: 'system-design-coach', aud: 'sdc-api', expiresIn: 60_000 }

const ENV = {
  JWT_SECRET: SECRET,
  JWT_PREVIOUS_SECRETS: OLD_SECRET,
  AUTH_RATE_LIMIT_MAX_REQUESTS: '100000',
  RATE_LIMIT_MAX_REQUESTS: '100000'
}

t.test('accounts, tokens and sessions', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  let now = new Date()
  const { app, logs } = await buildTestApp(t, url, ENV, undefined, { clock: () => now })

  t.test('registers a user, normalising the email, and never returns a hash', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: 'Alice@Example.COM', password: PASSWORD, displayName: ' Alice ' }
    })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.match(body, { email: 'Alice@Example.COM', displayName: 'Alice', role: 'user', emailVerified: false })
    t.notMatch(res.body, /argon2|password/i)
    const [row] = await sql`select email_normalized, password_hash from app.users where id = ${body.id}`
    t.equal(row.email_normalized, 'alice@example.com')
    t.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    const again = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: 'alice@example.com', password: PASSWORD, displayName: 'Alice 2' }
    })
    t.equal(again.statusCode, 409)
    t.equal(again.json().code, 'APP_ERR_EMAIL_TAKEN')
  })

  t.test('refuses weak or malformed registrations', async (t) => {
    const cases = [
      { email: uniqueEmail(), password: 'short', displayName: 'x' },
      { email: uniqueEmail(), password: 'x'.repeat(257), displayName: 'x' },
      { email: 'not-an-email', password: PASSWORD, displayName: 'x' },
      { email: uniqueEmail(), password: PASSWORD, displayName: 'x'.repeat(81) },
      { email: uniqueEmail(), password: PASSWORD, displayName: 'x', role: 'admin' }
    ]
    for (const payload of cases) {
      const res = await app.inject({ method: 'POST', url: '/auth/register', payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
      t.equal(res.json().code, 'APP_ERR_VALIDATION')
    }
  })

  t.test('logs in with no-store token responses, and /auth/me answers', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: email.toUpperCase(), password: PASSWORD }
    })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json()
    t.match(body, { tokenType: 'Bearer', expiresIn: 900, user: { email } })
    const me = await app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${body.accessToken}` } })
    t.equal(me.statusCode, 200)
    t.equal(me.json().id, body.user.id)
  })

  t.test('an unknown email and a wrong password look the same', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const headers = { 'x-request-id': 'enum-probe' }
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers,
      payload: { email, password: 'wrong password!!' }
    })
    const unknown = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers,
      payload: { email: uniqueEmail('ghost'), password: 'wrong password!!' }
    })
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, wrong.statusCode)
    t.equal(unknown.body, wrong.body)
    // Timing: both paths run one argon2 verification; compare medians of a few tries.
    const time = async (payload: object) => {
      const samples: number[] = []
      for (let i = 0; i < 3; i++) {
        const start = process.hrtime.bigint()
        await app.inject({ method: 'POST', url: '/auth/login', payload })
        samples.push(Number(process.hrtime.bigint() - start))
      }
      return samples.sort((a, b) => a - b)[1]
    }
    const other = uniqueEmail()
    await registerAndLogin(app, other)
    const known = await time({ email: other, password: 'wrong password!!' })
    const ghost = await time({ email: uniqueEmail('ghost'), password: 'wrong password!!' })
    const ratio = known / ghost
    t.ok(ratio > 0.4 && ratio < 2.5, `wrong-password/unknown-email time ratio ${ratio.toFixed(2)} is within noise`)
  })

  t.test('the JWT matrix: every bad token is the same 401', async (t) => {
    const user = await registerAndLogin(app)
    const claims = { sub: user.id, role: 'user', typ: 'access', jti: 'j1', tv: 0 }
    const base = { ...SIGNED, key: SECRET }
    const [header, payload] = user.accessToken.split('.')
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const tampered = JSON.parse(Buffer.from(payload, 'base64url').toString())
    tampered.role = 'admin'
    const tokens: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'wrong key': createSigner({ ...base, key: 'another-secret-entirely-0123456789abcdef' })(claims),
      'tampered claim': `${header}.${b64(tampered)}.${user.accessToken.split('.')[2]}`,
      expired: createSigner({ ...base, clockTimestamp: Date.now() - 3_600_000 })(claims),
      'not yet valid': createSigner({ ...base, notBefore: 3_600_000 })(claims),
      'array payload': `${header}.${b64([claims])}.${createSigner(base)(claims).split('.')[2]}`,
      'missing claims': createSigner(base)({ sub: user.id }),
      'refresh used as access': user.refreshToken,
      'typ refresh': createSigner(base)({ ...claims, typ: 'refresh' }),
      'HS512 with the right key': createSigner({ ...base, algorithm: 'HS512' })(claims),
      garbage: 'a.b.c'
    }
    const bodies = new Set<string>()
    for (const [name, token] of Object.entries(tokens)) {
      const res = await app.inject({
        url: '/auth/me',
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'jwt-matrix' }
      })
      t.equal(res.statusCode, 401, name)
      bodies.add(res.body)
    }
    const none = await app.inject({ url: '/auth/me', headers: { 'x-request-id': 'jwt-matrix' } })
    bodies.add(none.body)
    t.equal(bodies.size, 1, 'one identical body for every failure')
    t.match(JSON.parse([...bodies][0]), { statusCode: 401, code: 'APP_ERR_UNAUTHORIZED' })
    const good = await app.inject({
      url: '/auth/me',
      headers: { authorization: `Bearer ${createSigner(base)(claims)}` }
    })
    t.equal(good.statusCode, 200, 'a well-formed token signed the same way passes (the matrix is not vacuous)')
    const accessAsRefresh = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.accessToken }
    })
    t.equal(accessAsRefresh.statusCode, 401, 'access used as refresh')
  })

  t.test('a token accepted before stops working once it expires (the verified-token cache)', async (t) => {
    const user = await registerAndLogin(app)
    // Expired 3.5–4.5 s ago (its exp is whole seconds, so chosen from now, not rounded down by
    // chance): inside the 5 s clock tolerance for another 0.5–1.5 s, long enough for two calls.
    const exp = Math.ceil((Date.now() - 4500) / 1000)
    const token = createSigner({ ...SIGNED, key: SECRET, clockTimestamp: (exp - 60) * 1000 })({
      sub: user.id,
      role: 'user',
      typ: 'access',
      jti: 'expiring',
      tv: 0
    })
    const me = () => app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } })
    t.equal((await me()).statusCode, 200, 'accepted while within the tolerance')
    t.equal((await me()).statusCode, 200, 'and again, from the cache')
    await waitFor(async () => (await me()).statusCode === 401, { timeoutMs: 5000, what: 'the cached token to expire' })
    t.pass('refused once past its expiry and the tolerance')
  })

  t.test('tokens signed with a previous secret still verify', async (t) => {
    const user = await registerAndLogin(app)
    const old = createSigner({ ...SIGNED, key: OLD_SECRET })
    const token = old({ sub: user.id, role: 'user', typ: 'access', jti: 'old', tv: 0 })
    const res = await app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 200)
  })

  t.test('refresh rotates, and a reused token revokes its family', async (t) => {
    const user = await registerAndLogin(app)
    const first = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken }
    })
    t.equal(first.statusCode, 200)
    t.equal(first.headers['cache-control'], 'no-store')
    const rotated = first.json()
    t.not(rotated.refreshToken, user.refreshToken)
    const reuse = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken },
      headers: { 'x-request-id': 'reuse-1' },
      // A client of its own: 127.0.0.1 spent its anonymous refusal rows this minute on earlier tests.
      remoteAddress: '203.0.113.21'
    })
    t.equal(reuse.statusCode, 401)
    const next = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: rotated.refreshToken }
    })
    t.equal(next.statusCode, 401, 'the rotated token died with its family')
    // The refused request's own row is written after the response.
    const events = await waitFor(async () => {
      const rows =
        await sql`select action, outcome, user_id from app.audit_log where request_id = 'reuse-1' order by id`
      return rows.length === 2 ? rows : null
    })
    t.match(events, [
      { action: 'auth.refresh.reuse', outcome: 'denied', user_id: user.id },
      { action: 'auth.refresh', outcome: 'denied' }
    ])
    t.ok(logs.lines.some((l) => l.msg === 'refresh token reuse: family revoked'))
  })

  t.test('ten parallel refreshes of one token give exactly one success', async (t) => {
    const user = await registerAndLogin(app)
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: user.refreshToken } })
      )
    )
    t.equal(results.filter((r) => r.statusCode === 200).length, 1)
    t.equal(results.filter((r) => r.statusCode === 401).length, 9)
  })

  t.test('the family expires 7 days after login; rotation never extends it; expiry revokes nothing', async (t) => {
    const start = new Date()
    now = start
    const user = await registerAndLogin(app)
    now = new Date(start.getTime() + 6 * 86400_000)
    const sixDays = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken }
    })
    t.equal(sixDays.statusCode, 200)
    t.equal(Date.parse(sixDays.json().refreshExpiresAt), start.getTime() + 7 * 86400_000, 'same family expiry')
    now = new Date(start.getTime() + 7 * 86400_000 + 1000)
    const late = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: sixDays.json().refreshToken }
    })
    t.equal(late.statusCode, 401)
    const revoked = await sql`
      select count(*)::int as n from app.refresh_tokens where user_id = ${user.id} and revoked_at is not null
    `
    t.equal(revoked[0].n, 0, 'an expired token is not a reuse')
    now = new Date()
  })

  t.test('logout revokes the family and ends its access tokens', async (t) => {
    const user = await registerAndLogin(app)
    const other = await login(app, user.email)
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(user) })).statusCode, 200)
    const out = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: user.refreshToken } })
    t.equal(out.statusCode, 204)
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(user) })).statusCode, 401, 'its access token is dead')
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(other) })).statusCode, 200, 'another session lives')
    const after = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken }
    })
    t.equal(after.statusCode, 401)
    const unknown = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: 'x'.repeat(43) } })
    t.equal(unknown.statusCode, 204, 'an unknown token reveals nothing')
  })

  t.test('logout-all ends every session of the user, and only theirs', async (t) => {
    const user = await registerAndLogin(app)
    const second = await login(app, user.email)
    const bystander = await registerAndLogin(app)
    const out = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(second) })
    t.equal(out.statusCode, 204)
    for (const session of [user, second]) {
      t.equal((await app.inject({ url: '/auth/me', headers: bearer(session) })).statusCode, 401)
      const refresh = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refreshToken: session.refreshToken }
      })
      t.equal(refresh.statusCode, 401)
    }
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(bystander) })).statusCode, 200)
    t.equal((await app.inject({ method: 'POST', url: '/auth/logout-all' })).statusCode, 401, 'needs a token')
    const [row] = await sql`select action, changes from app.audit_log where action = 'auth.logout.all'`
    t.match(row, { changes: { endedSessions: 2 } })
  })

  t.test('the role comes from the database, not the token', async (t) => {
    const admin = await createAdmin(app)
    const user = await registerAndLogin(app)
    const unlock = (who: { accessToken: string }) =>
      app.inject({
        method: 'POST',
        url: `/admin/users/${user.id}/unlock`,
        headers: { authorization: `Bearer ${who.accessToken}` }
      })
    t.equal((await unlock(admin)).statusCode, 200)
    await sql`update app.users set role = 'user' where id = ${admin.id}`
    app.tokens.forget(admin.id)
    t.equal((await unlock(admin)).statusCode, 403, 'a demoted admin’s token is a user’s')
    // A token that claims admin for a user account (as one forged with a leaked secret would).
    const forged = createSigner({ key: OLD_SECRET, iss: 'system-design-coach', aud: 'sdc-api', expiresIn: 60_000 })({
      sub: user.id,
      role: 'admin',
      typ: 'access',
      jti: 'x',
      tv: 0
    })
    t.equal((await unlock({ accessToken: forged })).statusCode, 403, 'a claimed admin role is not enough')
  })

  t.test('security events are audited with secrets removed', async (t) => {
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'canary-password-xyzzy' },
      headers: { 'x-request-id': 'audit-fail' },
      // A client within its budget of failed-login rows this minute (earlier tests spent 127.0.0.1's).
      remoteAddress: '203.0.113.22'
    })
    const [failure] = await waitFor(() =>
      sql`select action, outcome, status_code, changes from app.audit_log where request_id = 'audit-fail'`.then((r) =>
        r.length ? r : null
      )
    )
    t.match(failure, { action: 'auth.login', outcome: 'denied', status_code: 401 })
    t.same(Object.keys(failure.changes), ['loginHash'], 'a failed login keeps a keyed hash of the email, not the body')
    const rows =
      await sql`select count(*)::int as n from app.audit_log where changes::text like '%canary-password-xyzzy%'`
    t.equal(rows[0].n, 0)
    const actions = (await sql`select distinct action from app.audit_log`).map((r) => r.action)
    for (const action of ['auth.register', 'auth.login', 'auth.refresh', 'auth.refresh.reuse', 'auth.logout']) {
      t.ok(actions.includes(action), `${action} audited`)
    }
  })

  t.test('an admin token reaches admin routes, a user token does not', async (t) => {
    const admin = await createAdmin(app)
    const user = await registerAndLogin(app)
    const asUser = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/unlock`, headers: bearer(user) })
    t.equal(asUser.statusCode, 403)
    const asAdmin = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/unlock`, headers: bearer(admin) })
    t.equal(asAdmin.statusCode, 200)
    t.same(asAdmin.json(), { id: user.id, unlocked: false })
    const missing = await app.inject({
      method: 'POST',
      url: '/admin/users/00000000-0000-4000-8000-00000000ffff/unlock',
      headers: bearer(admin)
    })
    t.equal(missing.statusCode, 404)
    const badId = await app.inject({ method: 'POST', url: '/admin/users/not-a-uuid/unlock', headers: bearer(admin) })
    t.equal(badId.statusCode, 400)
    await login(app, user.email)
  })
})

t.test('BYPASS_AUTH authenticates every request as the development user and warns at start', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, { NODE_ENV: 'development', BYPASS_AUTH: 'true' })
  const me = await app.inject({ url: '/auth/me' })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { id: DEV_USER.id, role: 'user', email: 'dev@localhost' })
  const server = fork('src/server.ts', {
    NODE_ENV: 'development',
    DATABASE_URL: url,
    API_PORT: '0',
    BYPASS_AUTH: 'true'
  })
  t.teardown(() => {
    server.child.kill('SIGKILL')
  })
  const warning = await server.waitForLog(/BYPASS_AUTH is enabled/)
  t.equal(warning.level, 40)
})

t.test('the browser mode: the refresh token in an HttpOnly cookie, used only with X-Refresh-Cookie', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, ENV)
  const email = uniqueEmail('cookie')
  await app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: PASSWORD, displayName: 'C' } })
  const cookieMode = { 'x-refresh-cookie': '1' }
  const cookieOf = (res: { headers: Record<string, unknown> }) => {
    const set = [res.headers['set-cookie']].flat() as string[]
    return {
      refresh: set.find((c) => c.startsWith('__Secure-sdc_refresh=')) ?? '',
      marker: set.find((c) => c.startsWith('sdc_signed_in=')) ?? ''
    }
  }

  const loggedIn = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: cookieMode,
    payload: { email, password: PASSWORD }
  })
  t.equal(loggedIn.statusCode, 200)
  t.notOk('refreshToken' in loggedIn.json(), 'the JSON carries no refresh token')
  t.ok(loggedIn.json().accessToken)
  const first = cookieOf(loggedIn)
  t.match(
    first.refresh,
    /^__Secure-sdc_refresh=[\w-]{43}; Path=\/auth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/
  )
  t.match(first.marker, /^sdc_signed_in=1; Path=\/; Max-Age=\d+; Secure; SameSite=Strict$/, 'a marker with no secret')
  const token = first.refresh.split(';')[0]

  // Without the header the cookie is not read (a cross-site form cannot add a header): no token, 400.
  const noHeader = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: token }, payload: {} })
  t.equal(noHeader.statusCode, 400, 'the cookie alone does nothing')
  const refreshed = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { ...cookieMode, cookie: token },
    payload: {}
  })
  t.equal(refreshed.statusCode, 200)
  t.notOk('refreshToken' in refreshed.json())
  const second = cookieOf(refreshed).refresh.split(';')[0]
  t.not(second, token, 'the cookie rotates')

  // The rotated-out cookie presented again is reuse: the family ends and the cookies are cleared.
  const reused = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { ...cookieMode, cookie: token },
    payload: {}
  })
  t.equal(reused.statusCode, 401)
  t.match(cookieOf(reused).refresh, /^__Secure-sdc_refresh=; Path=\/auth; Max-Age=0;/, 'cleared')
  t.match(cookieOf(reused).marker, /^sdc_signed_in=; Path=\/; Max-Age=0;/)
  const afterReuse = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { ...cookieMode, cookie: second },
    payload: {}
  })
  t.equal(afterReuse.statusCode, 401, 'the whole family is revoked')

  // Logout in cookie mode revokes the cookie's family and clears it.
  const again = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: cookieMode,
    payload: { email, password: PASSWORD }
  })
  const third = cookieOf(again).refresh.split(';')[0]
  const out = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: { ...cookieMode, cookie: third },
    payload: {}
  })
  t.equal(out.statusCode, 204)
  t.match(cookieOf(out).refresh, /Max-Age=0/)
  const afterLogout = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { ...cookieMode, cookie: third },
    payload: {}
  })
  t.equal(afterLogout.statusCode, 401, 'logged out')
  t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', payload: {} })).statusCode, 400, 'no token: 400')
  t.equal(
    (await app.inject({ method: 'POST', url: '/auth/refresh', headers: cookieMode, payload: {} })).statusCode,
    401,
    'cookie mode without a cookie: no session'
  )
})
