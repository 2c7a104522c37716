import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { searchDesign, WITH_SEARCH_INDEX } from '../helpers/catalogue.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { registerAndLogin } from '../helpers/users.ts'
import { postPreview, postWorkspace } from '../helpers/workspaces.ts'

t.test('the api reads designs with the catalogue it is built with', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app: real } = await buildTestApp(t, url)
  const { app } = await buildTestApp(t, url, {}, undefined, { catalogue: WITH_SEARCH_INDEX })
  const user = await registerAndLogin(app)
  const create = (on: typeof app) => postWorkspace(on, user, { name: 'Search', design: searchDesign() })

  const refused = await create(real)
  t.equal(refused.statusCode, 422, 'the real catalogue has no search index')
  t.match(refused.json(), { code: 'APP_ERR_INVALID_DESIGN', problems: [{ path: '/components/2/type' }] })

  const created = await create(app)
  t.equal(created.statusCode, 201, 'one entry more and the api accepts it')
  t.equal(created.json().design.components[2].type, 'search_index')

  const preview = await postPreview(app, user, created.json().id)
  t.equal(preview.statusCode, 200, 'and simulates it (on the preview threads)')
  const search = preview.json().components.find((c: { id: string }) => c.id === 'search')
  t.match(search, { type: 'search_index', arrivalRps: 50 })
  t.ok(search.utilization > 0)
  t.same(
    preview.json().cost.byComponent.find((c: { component: string }) => c.component === 'search'),
    { component: 'search', perMonth: 240 },
    'costed as its entry says'
  )
})
