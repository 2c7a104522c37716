import t from 'tap'
import { JOBS } from '../../jobs/registry.ts'
import { migrate, readMigrations } from '../../src/db/migrate.ts'
import { APP_PRIVILEGES_ROLE, applyRoles, LoginRoles, urlAs } from '../../src/db/roles.ts'
import { createBoss } from '../../src/queue/boss.ts'
import { prepareQueues } from '../../src/queue/queues.ts'
import { adminUrl, createTestDatabase, testSql } from '../helpers/db.ts'

/** What the app's role may do to a table beyond reading it, where that is less than everything. */
const WRITES_WITHHELD: Record<string, { insert: boolean; update: boolean; delete: boolean }> = {
  // Append-only: content columns only (checked below), never an update or a delete.
  'app.audit_log': { insert: false, update: false, delete: false },
  'app.audit_anchors': { insert: true, update: false, delete: false },
  // Kept by definer triggers.
  'app.user_run_counts': { insert: false, update: false, delete: false },
  'app.user_storage': { insert: false, update: false, delete: false },
  'app.schema_migrations': { insert: false, update: false, delete: false }
}

interface Reach {
  name: string
  select: boolean
  insert: boolean
  update: boolean
  delete: boolean
  truncate: boolean
  owns: boolean
}

/** Every table of app and pgboss (partitions too), and what `sql`'s role may do to it. */
async function reach(sql: ReturnType<typeof testSql>): Promise<Reach[]> {
  return sql<Reach[]>`
    select n.nspname || '.' || c.relname as name,
           has_table_privilege(c.oid, 'select') as select,
           has_table_privilege(c.oid, 'insert') as insert,
           has_table_privilege(c.oid, 'update') as update,
           has_table_privilege(c.oid, 'delete') as delete,
           has_table_privilege(c.oid, 'truncate') as truncate,
           pg_has_role(c.relowner, 'member') as owns
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('app', 'pgboss') and c.relkind in ('r', 'p')
    order by 1
  `
}

t.test('sql/roles.sql makes the roles again without error, and the app’s login is fit', async (t) => {
  await applyRoles(adminUrl())
  await applyRoles(adminUrl())
  const admin = testSql(t, adminUrl())
  const roles = await admin<{ name: string; superuser: boolean; bypassrls: boolean; login: boolean }[]>`
    select rolname as name, rolsuper as superuser, rolbypassrls as bypassrls, rolcanlogin as login
    from pg_roles
    where rolname in ('sdc_owner', 'sdc_app_login', 'sdc_grafana', 'sdc_app', 'sdc_readonly', 'sdc_definer')
    order by 1
  `
  t.same(
    roles.map((r) => [r.name, r.login]),
    [
      ['sdc_app', false],
      ['sdc_app_login', true],
      ['sdc_definer', false],
      ['sdc_grafana', true],
      ['sdc_owner', true],
      ['sdc_readonly', false]
    ]
  )
  t.ok(
    roles.every((r) => !r.superuser && !r.bypassrls),
    'none is a superuser or bypasses row-level security'
  )
  const [member] = await admin`
    select pg_has_role(${LoginRoles.app}, ${APP_PRIVILEGES_ROLE}, 'usage') as app,
           pg_has_role(${LoginRoles.app}, 'sdc_owner', 'member') as owner,
           pg_has_role(${LoginRoles.app}, 'sdc_definer', 'member') as definer,
           pg_has_role(${LoginRoles.readonly}, 'sdc_app', 'member') as grafana_app
  `
  t.same(member, { app: true, owner: false, definer: false, grafana_app: false })
})

t.test(
  'a migrated database: the owner is no superuser; the app’s role reaches every table, owns none, and no more',
  async (t) => {
    const { url, ownerUrl } = await createTestDatabase(t)
    const owner = testSql(t, ownerUrl)
    const [who] = await owner`
    select current_user as name, r.rolsuper as superuser, pg_get_userbyid(d.datdba) as database_owner
    from pg_roles r, pg_database d
    where r.rolname = current_user and d.datname = current_database()
  `
    t.same(who, { name: 'sdc_owner', superuser: false, database_owner: 'sdc_owner' })

    const app = testSql(t, url)
    const tables = await reach(app)
    t.ok(tables.some((r) => r.name === 'pgboss.job') && tables.some((r) => r.name === 'app.audit_log'))
    for (const table of tables) {
      const writes = WRITES_WITHHELD[table.name] ?? { insert: true, update: true, delete: true }
      t.same(
        table,
        { name: table.name, select: true, ...writes, truncate: false, owns: false },
        `${table.name}: what a new table gets unless its migration says otherwise`
      )
    }
    // A table sdc_definer owns is kept by definer functions (the telemetry tables aside, which the
    // app writes): its migration revokes the writes the default privileges gave, and it is listed above.
    const definerKept = await owner<{ name: string }[]>`
    select n.nspname || '.' || c.relname as name
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'app' and c.relkind in ('r', 'p') and not c.relispartition
      and c.relowner = 'sdc_definer'::regrole and c.relname not in ('request_telemetry', 'job_telemetry')
    order by 1
  `
    t.ok(definerKept.length >= 2)
    for (const { name } of definerKept) {
      t.same(WRITES_WITHHELD[name], { insert: false, update: false, delete: false }, `${name}: read-only to the app`)
    }
    const [audit] = await app`
    select array_agg(attname::text order by attname) as columns
    from pg_attribute
    where attrelid = 'app.audit_log'::regclass and attnum > 0 and has_column_privilege(attrelid, attnum, 'insert')
  `
    t.same(
      audit.columns,
      [
        'action',
        'changes',
        'ip_address',
        'method',
        'organisation_id',
        'outcome',
        'path',
        'request_id',
        'resource_id',
        'resource_type',
        'status_code',
        'trace_id',
        'user_agent',
        'user_id'
      ],
      'the audit log: its content columns, trace_id and organisation_id included; never id, time or seal'
    )
    await app`insert into app.audit_log ${app({ action: 'roles.test', outcome: 'success', trace_id: 'a'.repeat(32) })}`
    await t.rejects(app`update app.audit_log set action = 'x'`, { message: /permission denied/ })
    await t.rejects(app`delete from app.audit_log`, { message: /permission denied/ })
    await t.rejects(app`truncate app.audit_log`, { message: /permission denied/ })
    await t.rejects(app`alter table app.audit_log disable trigger all`, { message: /must be owner/ })
    await t.rejects(app`create table app.planted (id int)`, { message: /permission denied for schema app/ })
    await t.rejects(app`create table public.planted (id int)`, { message: /permission denied for schema public/ })

    const readonly = await testSql(t, urlAs(url, LoginRoles.readonly))`
    select array_agg(n.nspname || '.' || c.relname order by c.relname) as tables
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('app', 'pgboss') and c.relkind in ('r', 'p') and not c.relispartition
      and has_table_privilege(c.oid, 'select')
      and n.nspname || '.' || c.relname not like 'pgboss.%'
  `
    t.same(
      readonly[0].tables,
      [
        'app.audit_log',
        'app.job_telemetry',
        'app.login_lockouts',
        'app.request_telemetry',
        'app.user_run_counts',
        'app.user_storage'
      ],
      'Grafana’s role reads the dashboards’ tables (and what every role reads), nothing else of app'
    )
  }
)

t.test('a table a later migration makes is the app’s to use through default privileges', async (t) => {
  const { url, ownerUrl } = await createTestDatabase(t)
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), 'sdc-migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const files = await readMigrations()
  for (const file of files) await writeFile(join(dir, file.file), file.sql)
  const next = String(files.length + 1).padStart(4, '0')
  await writeFile(join(dir, `${next}_later.sql`), 'create table app.later (id bigserial primary key, note text);')
  await migrate(testSql(t, ownerUrl), { dir })
  const app = testSql(t, url)
  const [row] = await app`insert into app.later (note) values ('reached') returning id`
  await app`update app.later set note = 'changed' where id = ${row.id}`
  t.same(await app`select note from app.later`, [{ note: 'changed' }])
  const later = (await reach(app)).find((r) => r.name === 'app.later')
  t.same(later, {
    name: 'app.later',
    select: true,
    insert: true,
    update: true,
    delete: true,
    truncate: false,
    owns: false
  })
})

t.test('pg-boss: the owner installs its schema; the app’s role uses it and cannot install it', async (t) => {
  const fresh = await createTestDatabase(t, { migrated: false })
  await migrate(testSql(t, fresh.ownerUrl))
  const appOnFresh = testSql(t, fresh.url)
  const boss = createBoss(appOnFresh, { role: 'api', onError: () => {} })
  await t.rejects(boss.start(), { message: /pg-boss is not installed/ }, 'the app’s instance checks, never installs')
  await boss.stop({ graceful: false, close: false }).catch(() => {})
  await t.rejects(prepareQueues(appOnFresh, JOBS, { installSchema: true }), { message: /permission denied/ })

  const { url } = await createTestDatabase(t)
  const app = testSql(t, url)
  await prepareQueues(app, JOBS)
  const worker = createBoss(app, { role: 'worker', onError: (err) => t.fail(err.message) })
  await worker.start()
  const id = await worker.send('maintenance', { task: 'probe' })
  t.ok(id, 'it sends')
  const [job] = await worker.fetch('maintenance')
  t.equal(job?.id, id, 'and fetches')
  await worker.stop({ graceful: false, close: false })
})
