import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildWeb } from '../../web/build.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { bearer, PASSWORD, registerAndLogin } from '../helpers/users.ts'

// The seed's header set, by name and value: on every status of the API and on the web app's page.
const EXPECTED = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy':
    'accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()'
}

t.test('every response carries the secure headers; a signed-in caller’s answer is never stored', async (t) => {
  const { url } = await createTestDatabase(t)
  const root = join(await mkdtemp(join(tmpdir(), 'sdc-web-')), 'dist')
  await buildWeb(root)
  const { app } = await buildTestApp(
    t,
    url,
    { API_BODY_LIMIT_BYTES: '2048', RATE_LIMIT_MAX_REQUESTS: '30' },
    (app) => {
      app.get('/test/boom', { config: { auth: 'public', rateLimit: false } }, async () => {
        throw new Error('boom')
      })
    },
    { webRoot: root }
  )
  const user = await registerAndLogin(app)
  const answers: Record<string, Awaited<ReturnType<typeof app.inject>>> = {
    '200 (signed in)': await app.inject({ url: '/workspaces', headers: bearer(user) }),
    '200 (public)': await app.inject({ url: '/health/live' }),
    401: await app.inject({ url: '/workspaces' }),
    404: await app.inject({ url: '/nowhere' }),
    413: await app.inject({
      method: 'POST',
      url: '/workspaces',
      headers: bearer(user),
      payload: { name: 'x'.repeat(4000) }
    }),
    500: await app.inject({ url: '/test/boom' }),
    'the web app (/)': await app.inject({ url: '/' })
  }
  let limited = await app.inject({ url: '/health/live' })
  for (let i = 0; i < 40 && limited.statusCode !== 429; i++) limited = await app.inject({ url: '/nowhere-either' })
  answers[429] = limited
  for (const [label, res] of Object.entries(answers)) {
    const status = Number.parseInt(label, 10)
    if (Number.isInteger(status)) t.equal(res.statusCode, status, `${label} is what it says`)
    for (const [name, value] of Object.entries(EXPECTED)) t.equal(res.headers[name], value, `${label}: ${name}`)
    t.ok(res.headers['content-security-policy'], `${label}: a content security policy`)
  }
  t.equal(answers['200 (signed in)'].headers['cache-control'], 'no-store', 'a signed-in caller’s list: no-store')
  t.equal(answers[413].headers['cache-control'], 'no-store', 'and its refusals too')
  t.not(answers['200 (public)'].headers['cache-control'], 'no-store', 'a public probe may be cached by no one anyway')
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: user.email, password: PASSWORD }
  })
  t.equal(login.headers['cache-control'], 'no-store', 'an answer carrying tokens: no-store')
  t.equal(answers['the web app (/)'].headers['cache-control'], 'no-cache', 'the page keeps its own caching')
})
