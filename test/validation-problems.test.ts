import t from 'tap'
import { plainNumber } from '../src/validation-problems.ts'
import { buildTestApp } from './helpers/app.ts'
import { createTestDatabase } from './helpers/db.ts'
import { SAMPLE_DESIGN } from './helpers/designs.ts'
import { bearer, registerAndLogin, uniqueEmail } from './helpers/users.ts'
import { postWorkspace } from './helpers/workspaces.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('plain numbers group thousands with spaces and keep fractions', async (t) => {
  t.equal(plainNumber(1_000_000), '1 000 000')
  t.equal(plainNumber(3_600_000), '3 600 000')
  t.equal(plainNumber(1000), '1000')
  t.equal(plainNumber(0.001), '0.001')
  t.equal(plainNumber(-12345.5), '-12 345.5')
})

t.test('every refused field is answered with a plain sentence', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, ENV)
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const ws = (await postWorkspace(app, user, { name: 'Plain words', design: SAMPLE_DESIGN })).json()

  const traffic = (payload: object) =>
    app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}/traffic-profile`,
      headers: auth,
      payload: { version: 1, ...payload }
    })

  t.test('each traffic field out of bounds says its name, bounds and unit', async (t) => {
    const cases: [object, string, string][] = [
      [{ peakRps: 5e9 }, '/peakRps', 'Peak traffic must be between 0.001 and 1 000 000 requests a second'],
      [{ peakRps: -100 }, '/peakRps', 'Peak traffic must be between 0.001 and 1 000 000 requests a second'],
      [{ peakRps: 0 }, '/peakRps', 'Peak traffic must be between 0.001 and 1 000 000 requests a second'],
      [{ readRatio: 1.5 }, '/readRatio', 'Share of reads must be between 0 and 1'],
      [{ latencySloMs: 0 }, '/latencySloMs', 'p95 latency SLO must be between 0.001 and 3 600 000 ms'],
      [{ budgetPerMonth: -5 }, '/budgetPerMonth', 'Monthly budget must be between 0 and 1 000 000 000 US dollars'],
      [{ availabilityTarget: 0.5 }, '/availabilityTarget', 'Availability target must be between 0.9 and 0.999999'],
      [{ peakRps: 'lots' }, '/peakRps', 'Peak traffic must be a number between 0.001 and 1 000 000 requests a second'],
      [
        { budgetPerMonth: 'none' },
        '/budgetPerMonth',
        'Monthly budget must be a number between 0 and 1 000 000 000 US dollars'
      ],
      [{ surprise: 1 }, '/surprise', 'The request body has no field called “surprise”']
    ]
    for (const [payload, path, message] of cases) {
      const res = await traffic(payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      const body = res.json()
      t.equal(body.code, 'APP_ERR_VALIDATION')
      t.same(body.problems, [{ path, message }], JSON.stringify(payload))
      t.match(body.message, /^body/, 'the envelope keeps its schema text for older clients')
    }
  })

  t.test('a missing field is named as required', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/workspaces',
      headers: auth,
      payload: { design: SAMPLE_DESIGN }
    })
    t.equal(res.statusCode, 400)
    t.same(res.json().problems, [{ path: '/name', message: 'Name is required' }])
    const empty = await traffic({})
    t.same(empty.json().problems, [{ path: '', message: 'The request body must have at least 2 fields' }])
  })

  t.test('a blank workspace name, on create and on rename', async (t) => {
    const created = await postWorkspace(app, user, { name: '   ', design: SAMPLE_DESIGN })
    t.equal(created.statusCode, 400)
    t.same(created.json().problems, [{ path: '/name', message: 'Name must not be blank' }])
    const renamed = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 1, name: '' }
    })
    t.equal(renamed.statusCode, 400)
    t.same(renamed.json().problems, [{ path: '/name', message: 'Name must not be empty' }])
  })

  t.test('sign-up with a blank name, a short password or a malformed email', async (t) => {
    const register = (payload: object) =>
      app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email: uniqueEmail(), password: 'a long enough password', displayName: 'Ada', ...payload }
      })
    const blank = await register({ displayName: '  ' })
    t.equal(blank.statusCode, 400)
    t.same(blank.json().problems, [{ path: '/displayName', message: 'Your name must not be blank' }])
    t.same((await register({ password: 'short' })).json().problems, [
      { path: '/password', message: 'Password must be at least 12 characters long' }
    ])
    t.same((await register({ email: 'not-an-address' })).json().problems, [
      { path: '/email', message: 'Email must be an email address' }
    ])
  })

  t.test('a design’s problems name the field and what it is on', async (t) => {
    const design = {
      components: SAMPLE_DESIGN.components.map((c) => (c.id === 'api' ? { ...c, instances: 0 } : c)),
      links: SAMPLE_DESIGN.links.map((l, i) => (i === 0 ? { ...l, share: 2 } : l))
    }
    const res = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${ws.id}`,
      headers: auth,
      payload: { version: 1, design }
    })
    t.equal(res.statusCode, 422)
    t.match(res.json().problems, [
      { path: '/components/2/instances', message: /^Instances of api must be an integer from 1 to \d+$/ },
      { path: '/links/0/share', message: 'The share of the link users → lb must be greater than 0 and at most 1' }
    ])
  })

  t.test('a query string and a choice of values read plainly too', async (t) => {
    const page = await app.inject({ url: '/workspaces?limit=0', headers: auth })
    t.equal(page.statusCode, 400)
    t.equal(page.json().problems.length, 1)
    t.match(page.json().problems[0], { path: '/limit', message: /^Limit must be a whole number between 1 and \d+$/ })
    const exported = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/exports`,
      headers: auth,
      payload: { format: 'pdf' }
    })
    t.equal(exported.statusCode, 400)
    t.same(exported.json().problems, [{ path: '/format', message: 'Format must be one of: markdown, json or html' }])
  })
})
