import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { PASSWORD, uniqueEmail } from '../helpers/users.ts'

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
