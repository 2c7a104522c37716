import t from 'tap'
import { CLASS_ROUTE_RULES } from '../../src/routes/classes/index.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { bearer, registerAndLogin, type TestUser } from '../helpers/users.ts'

t.test('an instructor runs a class: organisation, class, code, join, members, revoke', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app, logs } = await buildTestApp(t, url)
  const instructor = await registerAndLogin(app)
  const learner = await registerAndLogin(app)
  const call = (user: TestUser | null, method: string, path: string, payload?: object) =>
    app.inject({
      method: method as 'GET',
      url: path,
      headers: user ? bearer(user) : {},
      ...(payload ? { payload } : {})
    })

  const org = await call(instructor, 'POST', '/orgs', { name: 'Evening school' })
  t.equal(org.statusCode, 201, org.body)
  t.equal(org.json().role, 'owner')
  t.equal((await call(instructor, 'POST', '/orgs', { name: ' ' })).statusCode, 400, 'a blank name is refused')

  const created = await call(instructor, 'POST', '/classes', { organisationId: org.json().id, name: 'Systems 101' })
  t.equal(created.statusCode, 201, created.body)
  const cls = created.json()
  t.match(cls, { name: 'Systems 101', role: 'instructor', manages: true, organisationName: 'Evening school' })
  // Someone else's organisation is not there for the learner.
  const foreign = await call(learner, 'POST', '/classes', { organisationId: org.json().id, name: 'Mine now' })
  t.equal(foreign.statusCode, 404)

  const code = await call(instructor, 'POST', `/classes/${cls.id}/join-codes`, {})
  t.equal(code.statusCode, 201, code.body)
  t.match(code.json().code, /^[A-Z2-9]{10}$/)
  const listed = await call(instructor, 'GET', `/classes/${cls.id}/join-codes`)
  t.notOk('code' in listed.json().items[0], 'the code is shown once, never listed')

  t.equal((await call(learner, 'GET', `/classes/${cls.id}`)).statusCode, 404, 'not a member yet: 404')
  const wrong = await call(learner, 'POST', '/classes/join', { code: 'AAAAAAAAAA' })
  t.equal(wrong.statusCode, 404)
  t.equal(wrong.json().code, 'APP_ERR_NOT_FOUND')
  const typed = code
    .json()
    .code.toLowerCase()
    .replace(/(.{5})/, '$1-')
  const joined = await call(learner, 'POST', '/classes/join', { code: typed })
  t.equal(joined.statusCode, 200, joined.body)
  t.match(joined.json(), { joined: true, class: { id: cls.id, role: 'learner', manages: false } })
  const again = await call(learner, 'POST', `/classes/${cls.id}/join`, { code: code.json().code })
  t.match(again.json(), { joined: false }, 'joining twice changes nothing')

  const mine = await call(learner, 'GET', '/classes')
  t.same(
    mine.json().items.map((c: { id: string }) => c.id),
    [cls.id]
  )
  t.equal((await call(learner, 'GET', `/classes/${cls.id}/members`)).statusCode, 403, 'a learner cannot list members')
  const members = await call(instructor, 'GET', `/classes/${cls.id}/members`)
  t.same(
    members
      .json()
      .items.map((m: { userId: string; role: string }) => [m.userId, m.role])
      .sort(),
    [
      [instructor.id, 'instructor'],
      [learner.id, 'learner']
    ].sort()
  )

  // Audit rows carry the organisation.
  const [audit] = await app.sql`
    select organisation_id from app.audit_log where action = 'class.join' and user_id = ${learner.id} and outcome = 'success'
  `
  t.equal(audit.organisation_id, org.json().id)

  const logged = await app.sql`select changes::text as changes from app.audit_log where action = 'class.join'`
  t.ok(logged.length >= 2)
  t.notOk(
    logged.some((r) => r.changes?.includes(code.json().code) || r.changes?.includes('AAAAAAAAAA')),
    'no audit row keeps a code, valid or not'
  )
  // A revoked code admits nobody.
  const revoked = await call(instructor, 'DELETE', `/classes/${cls.id}/join-codes/${code.json().id}`)
  t.equal(revoked.statusCode, 204)
  const late = await registerAndLogin(app)
  t.equal((await call(late, 'POST', '/classes/join', { code: code.json().code })).statusCode, 404)

  // An invitation lets its email's owner join without a code.
  const invited = await call(instructor, 'POST', `/classes/${cls.id}/members`, { email: late.email.toUpperCase() })
  t.equal(invited.statusCode, 202, invited.body)
  t.same(
    (await call(late, 'GET', '/classes')).json().invitations.map((i: { classId: string }) => i.classId),
    [cls.id]
  )
  t.equal((await call(late, 'POST', `/classes/${cls.id}/join`, {})).statusCode, 200)
  t.same((await call(late, 'GET', '/classes')).json().invitations, [], 'the invitation is used')

  // A learner leaves; may not remove someone else.
  t.equal((await call(late, 'DELETE', `/classes/${cls.id}/members/${learner.id}`)).statusCode, 403)
  t.equal((await call(late, 'DELETE', `/classes/${cls.id}/members/${late.id}`)).statusCode, 204)
  t.equal((await call(late, 'GET', `/classes/${cls.id}`)).statusCode, 404)

  // The owner exports the organisation, then deletes it; its audit trail stays.
  t.equal((await call(learner, 'GET', `/orgs/${org.json().id}/export`)).statusCode, 403, 'a learner of it: 403')
  const exported = await call(instructor, 'GET', `/orgs/${org.json().id}/export`)
  t.equal(exported.statusCode, 200)
  t.same(
    exported.json().classes.map((c: { id: string }) => c.id),
    [cls.id]
  )
  t.equal((await call(learner, 'DELETE', `/orgs/${org.json().id}`)).statusCode, 403)
  t.equal((await call(instructor, 'DELETE', `/orgs/${org.json().id}`)).statusCode, 204)
  t.equal((await call(instructor, 'GET', `/classes/${cls.id}`)).statusCode, 404, 'its classes are gone')
  const [{ count }] = await app.sql`
    select count(*)::int as count from app.audit_log where organisation_id = ${org.json().id}
  `
  t.ok(count >= 5, `its audit rows stay (${count})`)
  t.same(
    logs.lines.filter((l) => (l.level as number) >= 50),
    [],
    'no request logged an error'
  )
})

t.test('limits: organisations per user, classes per organisation, members per class', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, {
    QUOTA_ORGANISATIONS_PER_USER: '1',
    QUOTA_CLASSES_PER_ORGANISATION: '1',
    QUOTA_MEMBERS_PER_CLASS: '2'
  })
  const owner = await registerAndLogin(app)
  const call = (user: TestUser, method: string, path: string, payload?: object) =>
    app.inject({ method: method as 'GET', url: path, headers: bearer(user), ...(payload ? { payload } : {}) })
  const org = (await call(owner, 'POST', '/orgs', { name: 'One' })).json()
  const second = await call(owner, 'POST', '/orgs', { name: 'Two' })
  t.equal(second.statusCode, 403)
  t.equal(second.json().code, 'APP_ERR_QUOTA_REACHED')
  const cls = (await call(owner, 'POST', '/classes', { organisationId: org.id, name: 'A' })).json()
  t.equal((await call(owner, 'POST', '/classes', { organisationId: org.id, name: 'B' })).statusCode, 403)
  const { code } = (await call(owner, 'POST', `/classes/${cls.id}/join-codes`, {})).json()
  const first = await registerAndLogin(app)
  t.equal((await call(first, 'POST', '/classes/join', { code })).statusCode, 200)
  const full = await call(await registerAndLogin(app), 'POST', '/classes/join', { code })
  t.equal(full.statusCode, 403)
  t.match(full.json().message, /full/)
})

// Generated from the route table: every class route, as anonymous, a member of another
// organisation, a learner of another class and a learner of the same class.
t.test('every class route answers outsiders as the authz matrix says', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, { RATE_LIMIT_MAX_REQUESTS: '100000' })
  const call = (user: TestUser | null, method: string, path: string, payload?: object) =>
    app.inject({
      method: method as 'GET',
      url: path,
      headers: user ? bearer(user) : {},
      ...(payload ? { payload } : {})
    })
  async function classWith(instructor: TestUser) {
    const org = (await call(instructor, 'POST', '/orgs', { name: 'Org' })).json()
    const cls = (await call(instructor, 'POST', '/classes', { organisationId: org.id, name: 'Class' })).json()
    const code = (await call(instructor, 'POST', `/classes/${cls.id}/join-codes`, {})).json()
    return { org, cls, code }
  }
  const instructor = await registerAndLogin(app)
  const ours = await classWith(instructor)
  const learner = await registerAndLogin(app)
  t.equal((await call(learner, 'POST', '/classes/join', { code: ours.code.code })).statusCode, 200)
  const otherInstructor = await registerAndLogin(app)
  const theirs = await classWith(otherInstructor)
  const otherLearner = await registerAndLogin(app)
  t.equal((await call(otherLearner, 'POST', '/classes/join', { code: theirs.code.code })).statusCode, 200)

  const routes = app.routeTable.filter((r) => r.url.startsWith('/classes/:id') && !r.url.endsWith('/assignments'))
  t.same(
    routes
      .filter((r) => r.url !== '/classes/:id/join')
      .map((r) => `${r.method} ${r.url}`)
      .sort(),
    Object.keys(CLASS_ROUTE_RULES).sort(),
    'every class route has a rule'
  )
  const bodies: Record<string, object> = {
    'POST /classes/:id/members': { email: 'someone@example.com' },
    'POST /classes/:id/join-codes': {}
  }
  for (const route of routes) {
    const key = `${route.method} ${route.url}` as keyof typeof CLASS_ROUTE_RULES
    const path = route.url
      .replace(':id', ours.cls.id)
      .replace(':userId', instructor.id)
      .replace(':codeId', ours.code.id)
    const payload = route.method === 'GET' || route.method === 'DELETE' ? undefined : (bodies[key] ?? {})
    t.equal((await call(null, route.method, path, payload)).statusCode, 401, `${key}: anonymous 401`)
    t.equal(
      (await call(otherInstructor, route.method, path, payload)).statusCode,
      404,
      `${key}: another organisation 404`
    )
    t.equal((await call(otherLearner, route.method, path, payload)).statusCode, 404, `${key}: another class 404`)
    if (route.url === '/classes/:id/join') continue
    const asLearner = await call(learner, route.method, path, payload)
    if (CLASS_ROUTE_RULES[key] === 'instructor')
      t.equal(asLearner.statusCode, 403, `${key}: a learner of the class 403`)
    else
      t.notOk(
        [401, 404].includes(asLearner.statusCode),
        `${key}: a learner of the class is let in (${asLearner.statusCode})`
      )
  }
  // Nothing the outsiders tried changed the class.
  const members = await call(instructor, 'GET', `/classes/${ours.cls.id}/members`)
  t.equal(members.json().items.length, 2)
})
