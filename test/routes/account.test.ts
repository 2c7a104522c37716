import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { bearer, createAdmin, login, PASSWORD, registerAndLogin } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }
const NEW_PASSWORD = 'a brand new long password'

t.test('password change and account disable end every session', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, ENV)
  // A second instance: its cached user state must not outlive the change by more than the TTL.
  const { app: other } = await buildTestApp(t, url, ENV)

  t.test('a password change revokes refresh families and earlier access tokens', async (t) => {
    const user = await registerAndLogin(app)
    const second = await login(app, user.email)
    t.equal((await other.inject({ url: '/auth/me', headers: bearer(user) })).statusCode, 200, 'warms the other cache')
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(user),
      payload: { currentPassword: 'not the password', newPassword: NEW_PASSWORD }
    })
    t.equal(wrong.statusCode, 403)
    t.equal(wrong.json().code, 'APP_ERR_WRONG_PASSWORD')
    const weak = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(user),
      payload: { currentPassword: PASSWORD, newPassword: 'short' }
    })
    t.equal(weak.statusCode, 400, 'the password policy applies')
    const ok = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(user),
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }
    })
    t.equal(ok.statusCode, 204)
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(user) })).statusCode, 401, 'the access token is dead')
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(second) })).statusCode, 401, 'so is the other session')
    for (const session of [user, second]) {
      const refresh = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refreshToken: session.refreshToken }
      })
      t.equal(refresh.statusCode, 401, 'refresh families are revoked')
    }
    // The other instance trusts its cached state for at most 5 s.
    await waitFor(async () => (await other.inject({ url: '/auth/me', headers: bearer(user) })).statusCode === 401, {
      timeoutMs: 8000,
      what: 'the other instance to refuse the old token'
    })
    t.pass('the other instance follows within its cache TTL')
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } }))
        .statusCode,
      401
    )
    const fresh = await login(app, user.email, NEW_PASSWORD)
    t.equal(
      (await app.inject({ url: '/auth/me', headers: bearer(fresh) })).statusCode,
      200,
      'a new login works at once'
    )
    const [row] =
      await sql`select outcome, changes from app.audit_log where action = 'auth.password.change' and user_id = ${user.id} and outcome = 'success'`
    t.equal(row.changes.endedSessions, 2)
  })

  t.test('a disabled user cannot log in or refresh, and existing tokens stop working; enable restores', async (t) => {
    const admin = await createAdmin(app)
    const user = await registerAndLogin(app)
    const disable = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/disable`, headers: bearer(admin) })
    t.same(disable.json(), { id: user.id, disabled: true })
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(user) })).statusCode, 401)
    const refresh = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: user.refreshToken }
    })
    t.equal(refresh.statusCode, 401)
    const right = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: PASSWORD }
    })
    t.equal(right.statusCode, 403)
    t.equal(right.json().code, 'APP_ERR_ACCOUNT_DISABLED')
    const wrongPassword = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: 'wrong password!!' }
    })
    t.equal(wrongPassword.statusCode, 401, 'without the password nothing is revealed')
    const enable = await app.inject({ method: 'POST', url: `/admin/users/${user.id}/enable`, headers: bearer(admin) })
    t.same(enable.json(), { id: user.id, disabled: false })
    const back = await login(app, user.email)
    t.equal((await app.inject({ url: '/auth/me', headers: bearer(back) })).statusCode, 200)
    const actions = (
      await sql`select action from app.audit_log where resource_id = ${user.id} and action like 'admin.user.%' order by id`
    ).map((r) => r.action)
    t.same(actions, ['admin.user.disable', 'admin.user.enable'])
    const missing = await app.inject({
      method: 'POST',
      url: '/admin/users/00000000-0000-4000-8000-00000000dead/disable',
      headers: bearer(admin)
    })
    t.equal(missing.statusCode, 404)
  })
})
