import { createHash } from 'node:crypto'
import t from 'tap'
import * as grading from '../../jobs/grading.ts'
import * as simulation from '../../jobs/simulation.ts'
import { createSql } from '../../src/db/client.ts'
import { type DbContext, setContext, withContext } from '../../src/db/context.ts'
import { DEFAULT_TRAFFIC } from '../../src/domain/model.ts'
import { assignedRequirements, hintsForbidden } from '../../src/exercises/assigned.ts'
import { workspaceAs } from '../../src/workspaces/store.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, registerAndLogin, type TestUser } from '../helpers/users.ts'

/** The tables migration 0028 isolates, each with its organisation column. */
const TABLES = [
  ['organisations', 'id'],
  ['organisation_members', 'organisation_id'],
  ['classes', 'organisation_id'],
  ['class_members', 'organisation_id'],
  ['class_join_codes', 'organisation_id'],
  ['class_invitations', 'organisation_id']
] as const

t.test('row-level security isolates organisations under the app’s role', async (t) => {
  const db = await createTestDatabase(t)
  const { app } = await buildTestApp(t, db.url)
  const call = (user: TestUser, method: string, path: string, payload?: object) =>
    app.inject({ method: method as 'GET', url: path, headers: bearer(user), ...(payload ? { payload } : {}) })
  // Two organisations, each with a class, a learner, a join code and an invitation; `both`
  // instructs in A and B.
  async function organisation(name: string) {
    const owner = await registerAndLogin(app)
    const org = (await call(owner, 'POST', '/orgs', { name })).json()
    const cls = (await call(owner, 'POST', '/classes', { organisationId: org.id, name })).json()
    const code = (await call(owner, 'POST', `/classes/${cls.id}/join-codes`, {})).json()
    await call(owner, 'POST', `/classes/${cls.id}/members`, { email: `invitee-${name}@example.com` })
    const learner = await registerAndLogin(app)
    await call(learner, 'POST', '/classes/join', { code: code.code })
    return { owner, org, cls, code, learner }
  }
  const a = await organisation('a')
  const b = await organisation('b')
  const sql = testSql(t, db.url)
  const root = testSql(t, superuserUrl(db.url))

  const [role] = await sql`select rolsuper, rolbypassrls from pg_roles where rolname = current_user`
  t.same(
    role,
    { rolsuper: false, rolbypassrls: false },
    'the tests’ app connection can neither skip nor bypass policies'
  )
  for (const [table] of TABLES) {
    const [{ count }] = await root`select count(*)::int as count from ${root(`app.${table}`)}`
    t.ok(count >= 2, `${table} holds rows of both organisations`)
  }

  t.test('without context the app’s role reads, changes and deletes nothing', async (t) => {
    for (const [table, column] of TABLES) {
      const name = sql(`app.${table}`)
      t.same(await sql`select * from ${name}`, [], `${table}: nothing to read`)
      t.equal((await sql`update ${name} set ${sql(column)} = ${sql(column)}`).count, 0, `${table}: nothing to update`)
      t.equal((await sql`delete from ${name}`).count, 0, `${table}: nothing to delete`)
    }
  })

  const asUser = <T>(context: DbContext, work: Parameters<typeof withContext<T>>[2]) => withContext(sql, context, work)

  t.test('a user of organisation A reads, changes and deletes none of B’s rows', async (t) => {
    for (const user of [a.owner, a.learner]) {
      await asUser({ userId: user.id }, async (tx) => {
        for (const [table, column] of TABLES) {
          const name = tx(`app.${table}`)
          const orgs = (await tx`select distinct ${tx(column)} as org from ${name}`).map((r) => r.org)
          t.notOk(orgs.includes(b.org.id), `${table}: none of B’s rows`)
          const updated = await tx`update ${name} set ${tx(column)} = ${tx(column)} where ${tx(column)} = ${b.org.id}`
          t.equal(updated.count, 0, `${table}: B’s rows are not updated`)
          const deleted = await tx`delete from ${name} where ${tx(column)} = ${b.org.id}`
          t.equal(deleted.count, 0, `${table}: B’s rows are not deleted`)
        }
        // Nor can a row be written into B.
        await t.rejects(
          tx.savepoint(
            (s) => s`insert into app.classes (organisation_id, id, name) values (${b.org.id}, gen_random_uuid(), 'x')`
          ),
          { code: '42501' },
          'no class inserted into B'
        )
      })
    }
    const [{ count }] =
      await root`select count(*)::int as count from app.class_members where organisation_id = ${b.org.id}`
    t.equal(count, 2, 'B’s members are all still there')
  })

  t.test('an organisation set narrows even a member of both to that one', async (t) => {
    await root`insert into app.organisation_members (organisation_id, user_id, role) values (${b.org.id}, ${a.owner.id}, 'instructor')`
    const seen = (context: DbContext) =>
      asUser(context, async (tx) => (await tx`select id from app.organisations order by id`).map((r) => r.id))
    t.same((await seen({ userId: a.owner.id })).sort(), [a.org.id, b.org.id].sort(), 'no organisation set: both')
    t.same(await seen({ userId: a.owner.id, organisationId: a.org.id }), [a.org.id], 'A set: A only')
    await asUser({ userId: a.owner.id, organisationId: a.org.id }, async (tx) => {
      t.equal((await tx`delete from app.classes where organisation_id = ${b.org.id}`).count, 0)
    })
  })

  t.test('a learner sees their own membership only, and cannot make themselves an instructor', async (t) => {
    await asUser({ userId: a.learner.id }, async (tx) => {
      const rows = await tx`select user_id from app.class_members`
      t.same(
        rows.map((r) => r.user_id),
        [a.learner.id]
      )
      t.same(await tx`select * from app.class_join_codes`, [], 'no join codes')
      t.equal((await tx`update app.class_members set role = 'instructor'`).count, 0)
    })
  })

  t.test('joining needs a valid code in the context', async (t) => {
    const stranger = await registerAndLogin(app)
    const join = (joinCode: string | null) =>
      asUser({ userId: stranger.id, joinCode }, (tx) =>
        tx`insert into app.class_members (organisation_id, class_id, user_id, role)
           values (${a.org.id}, ${a.cls.id}, ${stranger.id}, 'learner')`.then(() => 'joined')
      )
    await t.rejects(join(null), { code: '42501' }, 'no code')
    await t.rejects(join(b.code.code), { code: '42501' }, 'another class’s code')
    t.equal(await join(a.code.code), 'joined')
  })

  t.test('workspaces, runs and grades: the owner, and the instructor of an assignment’s class only', async (t) => {
    const workspace = async (user: TestUser, name: string) =>
      (await call(user, 'POST', '/workspaces', { name, design: SAMPLE_DESIGN })).json().id as string
    const attempt = await workspace(a.learner, 'attempt')
    const personal = await workspace(a.learner, 'personal')
    const [assignment] = await root`
      insert into app.assignments (organisation_id, class_id, id, exercise_slug, title, opens_at, due_at)
      values (${a.org.id}, ${a.cls.id}, gen_random_uuid(), 'url-shortener', 'Week 1', now(), now() + interval '7 days')
      returning id
    `
    await root`
      insert into app.assignment_attempts (organisation_id, assignment_id, user_id, workspace_id)
      values (${a.org.id}, ${assignment.id}, ${a.learner.id}, ${attempt})
    `
    for (const ws of [attempt, personal]) {
      const [run] = await root`
        insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, result)
        select id, owner_id, 'completed', design, '{}'::jsonb, 1, '{}'::jsonb from app.workspaces where id = ${ws}
        returning id
      `
      await root`
        insert into app.grade_reports (simulation_id, owner_id, status, score, items)
        values (${run.id}, ${a.learner.id}, 'completed', 50, '[]')
      `
    }
    const reach = (context: DbContext) =>
      asUser(context, async (tx) => ({
        workspaces: (await tx`select id from app.workspaces where owner_id = ${a.learner.id} order by id`).map(
          (r) => r.id
        ),
        runs: (await tx`select workspace_id from app.simulation_runs where owner_id = ${a.learner.id} order by 1`).map(
          (r) => r.workspace_id
        ),
        grades: (await tx`select count(*)::int as n from app.grade_reports where owner_id = ${a.learner.id}`)[0].n
      }))
    t.same(
      await reach({ userId: a.learner.id }),
      {
        workspaces: [attempt, personal].sort(),
        runs: [attempt, personal].sort(),
        grades: 2
      },
      'the learner: both'
    )
    t.same(
      await reach({ userId: a.owner.id }),
      { workspaces: [attempt], runs: [attempt], grades: 1 },
      'the instructor: the attempt, never the personal workspace'
    )
    t.same(
      await reach({ userId: b.owner.id }),
      { workspaces: [], runs: [], grades: 0 },
      'another organisation: nothing'
    )
    t.same(
      await reach({ userId: b.learner.id }),
      { workspaces: [], runs: [], grades: 0 },
      'another class’s learner: nothing'
    )
    t.same(
      await reach({ userId: a.owner.id, organisationId: b.org.id }),
      { workspaces: [], runs: [], grades: 0 },
      'the instructor with another organisation set: nothing'
    )
    await asUser({ userId: a.owner.id }, async (tx) => {
      t.equal(
        (await tx`update app.workspaces set name = 'mine' where id = ${attempt}`).count,
        0,
        'read-only to the instructor'
      )
      t.equal((await tx`delete from app.simulation_runs where workspace_id = ${attempt}`).count, 0)
    })
    // The grading job reads an attempt's assignment as the attempt's owner (its own transaction's
    // context): for A's learner it gets A's numbers; a job carrying anyone else touches nothing of A's.
    await root`update app.assignments set requirements = '{"peakRps": 7}' where id = ${assignment.id}`
    t.same(
      await assignedRequirements(sql, a.learner.id, attempt),
      { peakRps: 7 },
      'the owner’s job reads its assignment'
    )
    t.equal(
      await assignedRequirements(sql, b.owner.id, attempt),
      undefined,
      'a job for organisation B reads none of A’s'
    )
    t.equal(await assignedRequirements(sql, b.learner.id, attempt), undefined)
    t.equal(await hintsForbidden(sql, b.owner.id, attempt), false)
    for (const table of ['assignments', 'assignment_attempts']) {
      t.same(await sql`select * from ${sql(`app.${table}`)}`, [], `${table}: nothing without context`)
      const seen = await asUser({ userId: b.owner.id }, (tx) => tx`select * from ${tx(`app.${table}`)}`)
      t.same(seen, [], `${table}: nothing for another organisation`)
    }
  })

  t.test('workspaces, runs and grades: no context, no rows; one user’s context, none of another’s', async (t) => {
    // A's learner and B's learner each hold a workspace with a completed run and a grade.
    async function holding(user: TestUser, name: string) {
      const ws = (await call(user, 'POST', '/workspaces', { name, design: SAMPLE_DESIGN })).json().id as string
      const [run] = await root`
        insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed, result)
        select id, owner_id, 'completed', design, ${root.json(DEFAULT_TRAFFIC as never)}, 1, '{}'::jsonb
        from app.workspaces where id = ${ws}
        returning id
      `
      const [grade] = await root`
        insert into app.grade_reports (simulation_id, owner_id, status)
        values (${run.id}, ${user.id}, 'queued')
        returning id
      `
      return { ws, run: run.id as string, grade: grade.id as string }
    }
    const mine = await holding(a.learner, 'mine')
    const theirs = await holding(b.learner, 'theirs')
    const RLS_TABLES = [
      ['workspaces', 'name'],
      ['simulation_runs', 'status'],
      ['grade_reports', 'status']
    ] as const
    for (const [table, column] of RLS_TABLES) {
      const name = sql(`app.${table}`)
      const [{ count }] = await root`select count(*)::int as count from ${root(`app.${table}`)}`
      t.ok(count >= 2, `${table} holds rows`)
      t.same(await sql`select * from ${name}`, [], `${table}: raw SQL without SET LOCAL reads nothing`)
      t.equal((await sql`update ${name} set ${sql(column)} = ${sql(column)}`).count, 0, `${table}: updates nothing`)
      t.equal((await sql`delete from ${name}`).count, 0, `${table}: deletes nothing`)
    }
    await asUser({ userId: a.learner.id }, async (tx) => {
      t.same(
        (await tx`select id from app.workspaces where id in ${tx([mine.ws, theirs.ws])}`).map((r) => r.id),
        [mine.ws],
        'A’s learner reads their own workspace, not B’s'
      )
      t.same((await tx`select id from app.simulation_runs where id = ${theirs.run}`).length, 0, 'nor B’s run')
      t.same((await tx`select id from app.grade_reports where id = ${theirs.grade}`).length, 0, 'nor B’s grade')
      t.equal((await tx`update app.workspaces set name = 'taken' where id = ${theirs.ws}`).count, 0, 'no update')
      t.equal((await tx`update app.simulation_runs set seed = 2 where id = ${theirs.run}`).count, 0)
      t.equal((await tx`update app.grade_reports set score = 100 where id = ${theirs.grade}`).count, 0)
      t.equal((await tx`delete from app.grade_reports where id = ${theirs.grade}`).count, 0, 'no delete')
      t.equal((await tx`delete from app.simulation_runs where id = ${theirs.run}`).count, 0)
      t.equal((await tx`delete from app.workspaces where id = ${theirs.ws}`).count, 0)
    })
    await t.rejects(
      asUser(
        { userId: a.learner.id },
        (tx) => tx`insert into app.workspaces (owner_id, name, design) values (${b.learner.id}, 'planted', '{}')`
      ),
      { code: '42501' },
      'nor writes a row in B’s name'
    )
    const [still] = await root`
      select w.name, r.seed, g.score, g.status from app.workspaces w
      join app.simulation_runs r on r.workspace_id = w.id join app.grade_reports g on g.simulation_id = r.id
      where w.id = ${theirs.ws}
    `
    t.same(still, { name: 'theirs', seed: 1, score: null, status: 'queued' }, 'B’s rows are as they were')

    // The workers: a job acts for the owner its payload names. A job naming A's learner with B's
    // run or grade finds nothing, and changes nothing; B's own job does its work.
    const job = (data: object) => ({ data, signal: new AbortController().signal }) as never
    await root`update app.simulation_runs set status = 'queued', result = null where id = ${theirs.run}`
    const simulate = simulation.createHandler(sql)
    const grade = grading.createHandler(sql)
    t.same(
      await simulate(job({ runId: theirs.run, ownerId: a.learner.id })),
      { runId: theirs.run, skipped: 'deleted' },
      'a simulation job for A cannot claim B’s run'
    )
    t.same(
      await grade(job({ gradeId: theirs.grade, ownerId: a.learner.id })),
      { gradeId: theirs.grade, skipped: 'deleted' },
      'a grading job for A cannot read B’s grade'
    )
    const [untouched] = await root`select status, attempts from app.simulation_runs where id = ${theirs.run}`
    t.same(untouched, { status: 'queued', attempts: 0 }, 'B’s run is still queued, never claimed')
    const done = (await simulate(job({ runId: theirs.run, ownerId: b.learner.id }))) as { stored: boolean }
    t.equal(done.stored, true, 'B’s own job runs it')
    const graded = (await grade(job({ gradeId: theirs.grade, ownerId: b.learner.id }))) as { stored: boolean }
    t.equal(graded.stored, true, 'and grades it')
  })

  t.test('the system’s definer functions do one bounded thing each', async (t) => {
    const ws = (await call(a.learner, 'POST', '/workspaces', { name: 'shared', design: SAMPLE_DESIGN })).json().id
    const link = (await call(a.learner, 'POST', `/workspaces/${ws}/shares`, {})).json()
    const token = link.token as string
    const hash = createHash('sha256').update(token).digest('hex')
    t.same(
      (await sql`select id from app.shared_workspace(${hash})`).map((r) => r.id),
      [ws],
      'a live link’s token reads its one workspace, without a session'
    )
    t.same(await sql`select id from app.shared_workspace(${'0'.repeat(64)})`, [], 'an unknown token reads nothing')
    await root`update app.workspace_shares set revoked_at = now() where workspace_id = ${ws}`
    t.same(await sql`select id from app.shared_workspace(${hash})`, [], 'a revoked one neither')
    await t.rejects(sql`select app.delete_surplus_runs(0, 10)`, { code: '22023' }, 'retention keeps at least one run')
    await t.rejects(sql`select app.delete_surplus_runs(5, 100000)`, { code: '22023' }, 'and is bounded per call')
    const [{ n }] = await sql`select app.delete_surplus_runs(50, 100) as n`
    t.equal(n, 0, 'it deletes only runs past a workspace’s newest `keep`')
    const [grants] = await root`
      select has_function_privilege('sdc_readonly', 'app.delete_surplus_runs(integer, integer)', 'execute') as readonly,
             has_table_privilege('sdc_app', 'app.simulation_runs', 'delete') as app
    `
    t.same(grants, { readonly: false, app: true }, 'no other role may call it')
  })

  t.test('a pooled connection does not carry a previous transaction’s context', async (t) => {
    // A pool of one connection: every statement below runs on it.
    const single = createSql(db.url, { max: 1 })
    t.teardown(() => single.end({ timeout: 1 }))
    const pid = await single.begin(async (tx) => {
      await setContext(tx, { userId: a.owner.id, organisationId: a.org.id })
      t.equal((await tx`select id from app.organisations`).length, 1, 'the context reads inside its transaction')
      return (await tx`select pg_backend_pid() as pid`)[0].pid
    })
    const [after] = await single`
      select current_setting('sdc.user_id', true) as u, current_setting('sdc.organisation_id', true) as o,
             pg_backend_pid() as pid
    `
    t.equal(after.pid, pid, 'the same connection')
    t.same([after.u ?? '', after.o ?? ''], ['', ''], 'the settings ended with the transaction')
    t.same(await single`select * from app.organisations`, [], 'the next statement reads nothing')
    // The same for the workspaces: a user's transaction reads theirs, the next reads none.
    const seen = await single.begin(async (tx) => {
      await setContext(tx, { userId: a.learner.id })
      return (await tx`select id from app.workspaces`).length
    })
    t.ok(seen > 0, 'the learner’s transaction reads their workspaces')
    t.same(await single`select id from app.workspaces`, [], 'the next statement on that connection reads none')
  })

  t.test('a read of one statement sets its own context, and it ends with the statement', async (t) => {
    const single = createSql(db.url, { max: 1 })
    t.teardown(() => single.end({ timeout: 1 }))
    const ws = (await call(a.learner, 'POST', '/workspaces', { name: 'one statement', design: SAMPLE_DESIGN })).json()
    const row = await workspaceAs(single, { userId: a.learner.id }, ws.id)
    t.equal(row.name, 'one statement', 'the owner reads their workspace')
    const [after] = await single`
      select current_setting('sdc.user_id', true) as u, (select count(*)::int from app.workspaces) as visible
    `
    t.same(
      [after.u ?? '', after.visible],
      ['', 0],
      'the next statement on that connection has no context and reads none'
    )
    await t.rejects(
      workspaceAs(single, { userId: b.learner.id }, ws.id),
      { statusCode: 404, message: /Workspace/ },
      'another user: 404'
    )
    const narrowed = { userId: a.learner.id, organisationId: b.org.id }
    t.same(
      (await workspaceAs(single, narrowed, ws.id)).id,
      (await asUser(narrowed, (tx) => tx`select id from app.workspaces where id = ${ws.id}`))[0]?.id,
      'with an organisation set it reads what a transaction in that context reads'
    )
    await t.rejects(
      workspaceAs(single, { userId: null }, ws.id),
      { statusCode: 404, message: /Workspace/ },
      'no one: 404'
    )
    const got = await call(a.learner, 'GET', `/workspaces/${ws.id}`)
    t.equal(got.json().name, 'one statement', 'GET /workspaces/:id reads it this way')
    t.equal((await call(b.learner, 'GET', `/workspaces/${ws.id}`)).statusCode, 404, 'and 404s another user')
  })
})
