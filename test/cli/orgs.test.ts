import t from 'tap'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'
import { bearer, login, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

// The operator's organisation command, as a process against a real database under the app's role.

t.test('org:create makes an organisation whose owner runs it through the API', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)
  const cli = async (...args: string[]) => {
    const proc = fork('src/cli.ts', { DATABASE_URL: url }, args)
    const code = await proc.exited
    return { code, stdout: proc.stdout.join('\n'), stderr: proc.stderr.join('') }
  }
  const teacher = await registerAndLogin(app, uniqueEmail('teacher'))

  t.equal((await cli('org:create', '--name', 'School')).code, 2, 'no owner: a usage error')
  const unknown = await cli('org:create', '--name', 'School', '--owner-email', 'nobody@example.com')
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /no user has the email nobody@example\.com/)

  const made = await cli('org:create', '--name', 'Evening School', '--owner-email', teacher.email.toUpperCase())
  t.equal(made.code, 0, made.stderr)
  const id = /\(([0-9a-f-]{36})\)/.exec(made.stdout)?.[1]
  t.ok(id, made.stdout)
  const orgs = await app.inject({ method: 'GET', url: '/orgs', headers: bearer(await login(app, teacher.email)) })
  t.same(
    orgs.json().items.map((o: { id: string; name: string; role: string }) => [o.id, o.name, o.role]),
    [[id, 'Evening School', 'owner']]
  )
  const created = await app.inject({
    method: 'POST',
    url: '/classes',
    headers: bearer(teacher),
    payload: { organisationId: id, name: 'First class' }
  })
  t.equal(created.statusCode, 201, 'the owner makes a class in it')
  const [audit] = await app.sql`
    select action, organisation_id, method from app.audit_log where action = 'cli.organisation.create'
  `
  t.same(audit, { action: 'cli.organisation.create', organisation_id: id, method: 'CLI' })
})
