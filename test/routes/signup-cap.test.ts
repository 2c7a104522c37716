import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { bearer, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

t.test('one client address may sign up QUOTA_SIGNUPS_PER_CLIENT_PER_DAY accounts a day', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, { QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '3' })
  const signUp = (remoteAddress: string, email = uniqueEmail()) =>
    app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress,
      payload: { email, password: PASSWORD, displayName: 'Learner' }
    })
  const first = uniqueEmail()
  t.equal((await signUp('203.0.113.5', first)).statusCode, 201)
  t.equal((await signUp('203.0.113.5', first)).statusCode, 409, 'a taken email counts as an attempt too')
  t.equal((await signUp('203.0.113.5')).statusCode, 201)
  const refused = await signUp('203.0.113.5')
  t.equal(refused.statusCode, 429, 'the fourth of the day is refused')
  t.equal(refused.json().code, 'APP_ERR_RATE_LIMITED')
  t.ok(
    Number(refused.headers['retry-after']) > 3600,
    `Retry-After counts to the day's end: ${refused.headers['retry-after']}`
  )
  t.equal((await signUp('198.51.100.7')).statusCode, 201, 'another address has a budget of its own')
  t.equal((await signUp('2001:db8:1:2::5')).statusCode, 201)
  t.equal((await signUp('2001:db8:1:2::6')).statusCode, 201)
  t.equal((await signUp('2001:db8:1:2::7')).statusCode, 201)
  t.equal((await signUp('2001:db8:1:2:ffff::1')).statusCode, 429, 'an IPv6 /64 is one client')
})

t.test('a class of 40 signs up with its join code from one school address, and signs in', async (t) => {
  const { url } = await createTestDatabase(t)
  // The address's budgets as tight as can be: three sign-ups a day, twelve /auth requests a minute.
  const { app } = await buildTestApp(t, url, {
    QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '3',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '12'
  })
  const school = '203.0.113.40'
  const instructor = await registerAndLogin(app)
  const headers = bearer(instructor)
  const org = (await app.inject({ method: 'POST', url: '/orgs', headers, payload: { name: 'School' } })).json()
  const cls = (
    await app.inject({ method: 'POST', url: '/classes', headers, payload: { organisationId: org.id, name: '10B' } })
  ).json()
  const { code } = (await app.inject({ method: 'POST', url: `/classes/${cls.id}/join-codes`, headers })).json()
  const signUp = (payload: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: school,
      payload: { email: uniqueEmail('pupil'), password: PASSWORD, displayName: 'Pupil', ...payload }
    })

  const learners = await Promise.all(
    Array.from({ length: 40 }, async () => {
      const res = await signUp({ joinCode: code })
      return {
        status: res.statusCode,
        email: (res.json() as { email: string }).email,
        cookie: res.headers['set-cookie']
      }
    })
  )
  t.same(
    learners.map((l) => l.status),
    Array(40).fill(201),
    'forty sign-ups with the code, one address'
  )
  const members = await app.inject({ method: 'GET', url: `/classes/${cls.id}/members`, headers })
  t.equal(members.json().items.length, 41, 'every pupil is in the class')
  // Each pupil's browser signed up, so it is a known device: forty logins from the same address.
  const logins = await Promise.all(
    learners.map((l) =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: school,
        headers: { cookie: String(l.cookie).split(';')[0] },
        payload: { email: l.email, password: PASSWORD }
      })
    )
  )
  t.same(
    logins.map((r) => r.statusCode),
    Array(40).fill(200),
    'forty logins'
  )

  // The address's own budget is untouched by them, and still holds for strangers there: an
  // invalid code is no code.
  const plain = [await signUp({}), await signUp({ joinCode: 'NOTACODE99' }), await signUp({})]
  t.same(
    plain.map((r) => r.statusCode),
    [201, 201, 201]
  )
  const fourth = await signUp({ joinCode: 'NOTACODE99' })
  t.equal(fourth.statusCode, 429, 'past the address’s budget without a valid code')
  // A revoked code is no budget either.
  await app.inject({
    method: 'DELETE',
    url: `/classes/${cls.id}/join-codes/${(await app.inject({ method: 'GET', url: `/classes/${cls.id}/join-codes`, headers })).json().items[0].id}`,
    headers
  })
  t.equal((await signUp({ joinCode: code })).statusCode, 429, 'a revoked code spends the address’s budget')
})
