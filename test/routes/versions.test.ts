import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

// The version poll an open editor makes to learn another tab saved: the two versions, a few bytes
// whatever the design's size, the owner's only.

t.test('GET /workspaces/:id/versions follows every save, in a few bytes, to the owner only', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '100000' })
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const created = await postWorkspace(app, user, { name: 'Polled', design: SAMPLE_DESIGN })
  const id = created.json().id
  const versions = () => app.inject({ url: `/workspaces/${id}/versions`, headers: bearer(user) })
  const first = await versions()
  t.equal(first.statusCode, 200)
  t.same(first.json(), { design: 1, traffic: 1 })
  t.equal(first.headers['cache-control'], 'no-store')
  await app.inject({
    method: 'PATCH',
    url: `/workspaces/${id}`,
    headers: bearer(user),
    payload: { version: 1, design: SAMPLE_DESIGN }
  })
  await app.inject({
    method: 'PATCH',
    url: `/workspaces/${id}/traffic-profile`,
    headers: bearer(user),
    payload: { version: 1, peakRps: 50 }
  })
  const after = await versions()
  t.same(after.json(), { design: 2, traffic: 2 }, 'each save moves its version')
  const whole = await app.inject({ url: `/workspaces/${id}`, headers: bearer(user) })
  t.ok(after.body.length < 40, `the poll answers ${after.body.length} bytes`)
  t.ok(whole.body.length > 20 * after.body.length, `where the workspace is ${whole.body.length}`)
  t.equal((await app.inject({ url: `/workspaces/${id}/versions`, headers: bearer(other) })).statusCode, 404)
  t.equal((await app.inject({ url: `/workspaces/${id}/versions` })).statusCode, 401)
})
