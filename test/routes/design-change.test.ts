import t from 'tap'
import { diffDesign } from '../../src/domain/design-change.ts'
import type { DesignDocument } from '../../src/domain/schemas.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('a design saved as a change to the stored version (what a closing page sends)', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, ENV)
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const ws = (await postWorkspace(app, user, { name: 'Patched', design: SAMPLE_DESIGN })).json()
  const base = ws.design as DesignDocument
  const moved: DesignDocument = {
    ...base,
    components: base.components.map((c) => (c.id === 'api' ? { ...c, x: 320, y: 80 } : c))
  }
  const patch = (version: number, designChange: unknown) =>
    app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version, designChange }
    })

  t.test('applies to the version it was made against', async (t) => {
    const res = await patch(1, diffDesign(base, moved))
    t.equal(res.statusCode, 200)
    t.equal(res.json().version, 2)
    t.same(res.json().design, moved, 'the stored design is the edited one')
  })

  t.test('a stale version is a 409 with the current one; nothing changes', async (t) => {
    const res = await patch(1, { removed: ['db'] })
    t.equal(res.statusCode, 409)
    t.equal(res.json().currentVersion, 2)
    const read = await app.inject({ url: `/workspaces/${ws.id}`, headers: auth })
    t.same(read.json().design, moved)
  })

  t.test('the patched design is validated like any other (422 with its problems)', async (t) => {
    const res = await patch(2, { removed: ['users'] })
    t.equal(res.statusCode, 422)
    t.match(res.json().problems, [{ path: '/components', message: /client/ }])
  })

  t.test('the design and a patch together are refused', async (t) => {
    const res = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 2, design: moved, designChange: {} }
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'APP_ERR_VALIDATION')
  })
})
