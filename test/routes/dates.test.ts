import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { bearer, createAdmin, registerAndLogin } from '../helpers/users.ts'

const cursor = (text: string) => Buffer.from(text).toString('base64url')
const ID = '0190a0b0-0000-7000-8000-000000000000'

t.test('a date Postgres cannot hold is the client’s 400 on every list, never a 500', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '100000' })
  const user = await registerAndLogin(app)
  const admin = await createAdmin(app)
  const get = (path: string, who = admin) => app.inject({ url: path, headers: bearer(who) })

  for (const [path, who] of [
    ['/workspaces', user],
    ['/admin/jobs', admin]
  ] as const) {
    for (const at of ['0000-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
      const res = await get(`${path}?cursor=${cursor(`${at}|${ID}`)}`, who)
      t.equal(res.statusCode, 400, `${path}, a cursor at ${at}`)
      t.equal(res.json().code, 'APP_ERR_INVALID_CURSOR')
    }
    t.equal((await get(`${path}?cursor=${cursor(`9999-12-31T23:59:59.999Z|${ID}`)}`, who)).statusCode, 200, 'year 9999')
    t.equal((await get(`${path}?cursor=${cursor(`0001-01-01T00:00:00.000Z|${ID}`)}`, who)).statusCode, 200, 'year 1')
  }
  for (const since of ['2026-12-31T23:59:60Z', '0000-01-01T00:00:00Z', '2026-12-31T24:00:00Z']) {
    for (const name of ['since', 'until']) {
      const res = await get(`/admin/audit-logs?${name}=${encodeURIComponent(since)}`)
      t.equal(res.statusCode, 400, `${name}=${since}`)
      t.match(res.json(), { code: /^APP_ERR_(VALIDATION|BAD_REQUEST)$/, message: /date/ })
    }
  }
  t.equal((await get('/admin/audit-logs?since=2026-12-31T23:59:59Z')).statusCode, 200, 'a real instant')
})
