import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { looseDefiners, MigrationError, migrate, migrationStatus, readMigrations } from '../../src/db/migrate.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return dir
}

const TWO = {
  '0001_first.sql': 'create table app.first (id int primary key);',
  '0002_second.sql': 'create table app.second (id int primary key);\ninsert into app.second values (1);'
}

t.test('the project migrations apply to a fresh database and re-running is a no-op', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const sql = testSql(t, ownerUrl)
  const files = await readMigrations()
  const first = await migrate(sql)
  t.equal(first.applied.length, files.length)
  const second = await migrate(sql)
  t.same(second.applied, [])
  const status = await migrationStatus(sql)
  t.equal(status.applied.length, files.length)
  t.same(status.pending, [])
  t.same(status.drifted, [])
})

t.test(
  'no SECURITY DEFINER function is left with a loose search_path, and a migration that leaves one is refused',
  async (t) => {
    const { ownerUrl } = await createTestDatabase(t, { migrated: false })
    const sql = testSql(t, ownerUrl)
    await migrate(sql)
    const definers = await sql<{ name: string; owner: string; config: string[]; superuser: boolean }[]>`
    select p.oid::regprocedure::text as name, r.rolname as owner, p.proconfig as config, r.rolsuper as superuser
    from pg_proc p
    join pg_roles r on r.oid = p.proowner
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'app' and p.prosecdef
    order by 1
  `
    t.same(
      definers.map((d) => d.name),
      [
        'app.assignment_role(uuid,uuid)',
        'app.belongs_to(uuid)',
        'app.class_role(uuid,uuid)',
        'app.class_size(uuid,uuid)',
        'app.count_added_runs()',
        'app.count_no_runs()',
        'app.count_removed_runs()',
        'app.count_storage()',
        'app.delete_surplus_runs(integer,integer)',
        'app.drop_telemetry_partitions(date,integer)',
        'app.ensure_telemetry_partitions(date,integer)',
        'app.instructs_run(uuid)',
        'app.instructs_workspace(uuid)',
        'app.invited(text)',
        'app.join_code_class(text)',
        'app.joinable_class(uuid)',
        'app.may_join(uuid,uuid)',
        'app.organisation_role(uuid)',
        'app.organisation_unclaimed(uuid)',
        'app.seal_audit_log(integer)',
        'app.shared_latest_grade(text)',
        'app.shared_latest_run(text)',
        'app.shared_workspace(text)',
        'app.storage_add(jsonb)'
      ]
    )
    for (const d of definers) {
      t.ok(d.config.includes('search_path=pg_catalog, pg_temp'), `${d.name}: fixed search_path`)
      t.equal(d.owner, 'sdc_definer', `${d.name}: owned by the definer role`)
      t.equal(d.superuser, false, `${d.name}: whose owner is no superuser`)
    }
    t.same(await looseDefiners(sql), [])

    const files = Object.fromEntries((await readMigrations()).map((f) => [f.file, f.sql]))
    const next = String((await readMigrations()).length + 1).padStart(4, '0')
    const dir = await migrationsDir({
      ...files,
      [`${next}_loose.sql`]:
        'create function app.loose() returns int language sql security definer set search_path = pg_catalog, app as $$ select 1 $$;'
    })
    await t.rejects(migrate(sql, { dir }), {
      message:
        /loose\.sql failed and was rolled back: SECURITY DEFINER functions must set search_path = pg_catalog, pg_temp: app\.loose\(\)/
    })
    t.same((await sql`select to_regprocedure('app.loose()') as f`)[0].f, null, 'and nothing of it stays')
  }
)

t.test('an edited applied file is reported, not re-run', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const sql = testSql(t, ownerUrl)
  const dir = await migrationsDir(TWO)
  await migrate(sql, { dir })
  await writeFile(join(dir, '0002_second.sql'), `${TWO['0002_second.sql']}\ninsert into app.second values (2);`)
  const status = await migrationStatus(sql, dir)
  t.same(status.drifted, [{ version: 2, name: 'second' }])
  await t.rejects(migrate(sql, { dir }), { name: 'MigrationError', message: /0002_second\.sql/ })
  const rows = await sql`select id from app.second`
  t.equal(rows.length, 1, 'the edited file did not run again')
})

t.test('pending migrations are listed and a gap in numbering is refused', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const sql = testSql(t, ownerUrl)
  const dir = await migrationsDir({ '0001_first.sql': TWO['0001_first.sql'] })
  await migrate(sql, { dir })
  await writeFile(join(dir, '0002_second.sql'), TWO['0002_second.sql'])
  t.same((await migrationStatus(sql, dir)).pending, [{ version: 2, name: 'second' }])
  const gap = await migrationsDir({ '0001_a.sql': 'select 1;', '0003_c.sql': 'select 1;' })
  await t.rejects(readMigrations(gap), MigrationError)
  await t.rejects(readMigrations(gap), { message: /contiguous/ })
})

t.test('a failing file rolls back completely and stops the run', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const sql = testSql(t, ownerUrl)
  const dir = await migrationsDir({
    '0001_first.sql': TWO['0001_first.sql'],
    '0002_broken.sql':
      'create table app.half (id int);\ninsert into app.half values (1);\nselect * from app.missing_table;',
    '0003_after.sql': 'create table app.after (id int);'
  })
  await t.rejects(migrate(sql, { dir }), { message: /0002_broken\.sql failed and was rolled back/ })
  const [{ half, after }] = await sql`
    select to_regclass('app.half') is not null as half, to_regclass('app.after') is not null as after
  `
  t.equal(half, false, 'no table from the failed file survives')
  t.equal(after, false, 'later files did not run')
  const versions = await sql`select version from app.schema_migrations order by version`
  t.same(
    versions.map((r) => r.version),
    [1]
  )
})

t.test('two concurrent runners apply each file once', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const dir = await migrationsDir({
    ...TWO,
    // Slow enough that the two runners overlap.
    '0003_slow.sql': 'select pg_sleep(0.3);\ncreate table app.slow (id int);'
  })
  const a = testSql(t, ownerUrl)
  const b = testSql(t, ownerUrl)
  const [ra, rb] = await Promise.all([migrate(a, { dir }), migrate(b, { dir })])
  t.equal(ra.applied.length + rb.applied.length, 3, 'three files applied in total')
  const rows = await a`select version, count(*)::int as n from app.schema_migrations group by version order by version`
  t.same(
    rows.map((r) => [r.version, r.n]),
    [
      [1, 1],
      [2, 1],
      [3, 1]
    ]
  )
})

t.test('npm run migrate and migrate:status work as processes, migrate as the owner', async (t) => {
  const { url, ownerUrl } = await createTestDatabase(t, { migrated: false })
  // Before the migrations, a command that needs the schema says what to do, in one line.
  const early = fork('src/cli.ts', { DATABASE_URL: url }, ['health'])
  t.equal(await early.exited, 1)
  t.match(
    early.stderr.join(''),
    /^error: the database has no System Design Coach schema \(.*\): run `npm run migrate`/m
  )
  t.notMatch(early.stderr.join(''), /\n\s+at /, 'no stack trace')
  const before = fork('src/cli.ts', { DATABASE_URL: url }, ['migrate:status'])
  t.equal(await before.exited, 1, 'pending migrations exit 1')
  t.match(before.stdout.join('\n'), /pending {2}0001_init/)
  const asApp = fork('src/cli.ts', { DATABASE_URL: url }, ['migrate'])
  t.equal(await asApp.exited, 1, 'the app’s role cannot migrate')
  t.match(asApp.stderr.join(''), /^error: permission denied .*: migrate runs as DATABASE_OWNER_URL/m)
  const run = fork('src/cli.ts', { DATABASE_URL: url, DATABASE_OWNER_URL: ownerUrl }, ['migrate'])
  t.equal(await run.exited, 0, run.stderr.join(''))
  t.match(run.stdout.join('\n'), /applied 0001_init\.sql/)
  t.match(run.stdout.join('\n'), /queue schema: ready/)
  const after = fork('src/cli.ts', { DATABASE_URL: url }, ['migrate:status'])
  t.equal(await after.exited, 0)
  t.match(after.stdout.join('\n'), /applied {2}0001_init/)
  t.match(after.stdout.join('\n'), /0 pending, 0 edited/)
})

t.test('the CLI names an unreachable database, or a wrong one, without a stack trace', async (t) => {
  const { url } = await createTestDatabase(t)
  const cases: [string, RegExp][] = [
    ['postgres://postgres@127.0.0.1:1/none', /^error: cannot reach the database \(.*ECONNREFUSED.*\): is it running/m],
    [url.replace(/\/[^/]+$/, '/sdc_no_such_database'), /^error: database "sdc_no_such_database" does not exist: check/m]
  ]
  for (const [databaseUrl, expected] of cases) {
    const proc = fork('src/cli.ts', { DATABASE_URL: databaseUrl }, ['audit:verify'])
    t.equal(await proc.exited, 1)
    t.match(proc.stderr.join(''), expected)
    t.notMatch(proc.stderr.join(''), /\n\s+at /, 'no stack trace')
  }
})

t.test('0019 keeps saved load balancers whose shares do not add up to 1 on calls routing', async (t) => {
  const { ownerUrl } = await createTestDatabase(t, { migrated: false })
  const sql = testSql(t, ownerUrl)
  const before: Record<string, string> = {}
  for (const f of (await readMigrations()).filter((f) => f.version < 19)) before[f.file] = f.sql
  await migrate(sql, { dir: await migrationsDir(before) })
  const [user] = await sql`
    insert into app.users (email, email_normalized, password_hash, display_name)
    values ('lb@example.com', 'lb@example.com', 'x', 'LB') returning id
  `
  const design = (shares: number[], extra: Record<string, unknown> = {}) => ({
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'lb', type: 'load_balancer', instances: 1, concurrency: 10, serviceTimeMs: 1, ...extra },
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 5 },
      { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 5 }
    ],
    links: [
      { from: 'users', to: 'lb', share: 1 },
      { from: 'lb', to: 'a', share: shares[0] },
      { from: 'lb', to: 'b', share: shares[1] }
    ]
  })
  const insert = async (name: string, d: unknown) =>
    (
      await sql`insert into app.workspaces (owner_id, name, design) values (${user.id}, ${name}, ${sql.json(d as never)}) returning id`
    )[0].id
  const overlapping = await insert('overlapping', design([1, 1]))
  const exact = await insert('exact', design([0.5, 0.5]))
  const stated = await insert('stated', design([1, 1], { routing: 'split' }))
  await migrate(sql)
  const routing = async (id: string) => {
    const [row] = await sql`select design from app.workspaces where id = ${id}`
    return row.design.components[1].routing
  }
  t.equal(await routing(overlapping), 'calls', 'shares adding up to 2 keep their meaning')
  t.equal(await routing(exact), undefined, 'shares adding up to 1 now split, unmarked')
  t.equal(await routing(stated), 'split', 'a routing already stated is left alone')
  const [row] = await sql`select design from app.workspaces where id = ${overlapping}`
  t.same(row.design.links, design([1, 1]).links, 'nothing else changes')
})

t.test('a trace id finds its telemetry row through the bloom summary, in every daily partition', async (t) => {
  // As the owner: the app's role may not analyze the table.
  const { ownerUrl } = await createTestDatabase(t)
  const sql = testSql(t, ownerUrl)
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  // Rows of several traces in today's partition and in the default one (a day with no partition yet).
  await sql`
    insert into app.request_telemetry (created_at, request_id, method, path, status_code, duration_ms, client_ip, trace_id)
    select t, gen_random_uuid()::text, 'GET', '/x', 200, 1, '127.0.0.1', case when i = 500 then ${traceId} else md5(i::text) end
    from generate_series(1, 1000) as i, unnest(array[now(), '2100-01-01'::timestamptz]) as t
  `
  await sql`analyze app.request_telemetry`
  const plan = await sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`
    return tx`explain select request_id from app.request_telemetry where trace_id = ${traceId}`
  })
  const text = plan.map((row) => Object.values(row)[0]).join('\n')
  t.match(text, /Bitmap Index Scan on request_telemetry_\d{8}_trace_id_idx/, 'today: the bloom summary')
  t.match(text, /Bitmap Index Scan on request_telemetry_default_trace_id_idx/, 'the default partition too')
  const [{ count }] = await sql`select count(*)::int from app.request_telemetry where trace_id = ${traceId}`
  t.equal(count, 2, 'both rows of the trace')
  const [{ method }] = await sql`
    select i.indexdef as method from pg_indexes i where i.indexname = 'request_telemetry_trace_brin'
  `
  t.match(method, /USING brin \(trace_id text_bloom_ops/, 'a BRIN bloom index, not a b-tree')
})

t.test("a telemetry window reads the day's created_at summary (BRIN), not a b-tree", async (t) => {
  const { ownerUrl } = await createTestDatabase(t)
  const sql = testSql(t, ownerUrl)
  await sql`
    insert into app.request_telemetry (created_at, request_id, method, path, status_code, duration_ms)
    select now() - make_interval(secs => i), gen_random_uuid()::text, 'GET', '/x', case when i % 10 = 0 then 500 else 200 end, 1
    from generate_series(1, 1000) as i
  `
  await sql`analyze app.request_telemetry`
  const plan = await sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`
    return tx`explain select count(*) from app.request_telemetry where created_at > now() - interval '15 minutes'`
  })
  const text = plan.map((row) => Object.values(row)[0]).join('\n')
  t.match(text, /Bitmap Index Scan on request_telemetry_\d{8}_created_at_idx/, 'today: the minmax summary')
  const [{ count }] = await sql`
    select count(*)::int from app.request_telemetry where created_at > now() - interval '15 minutes' and status_code >= 500
  `
  t.equal(count, 89, "the window's errors (a row a second, one in ten a 500), as RUNBOOK's api_errors counts them")
  const indexes = await sql`
    select indexdef from pg_indexes where tablename = 'request_telemetry' and indexdef like '%(created_at)%'
  `
  t.equal(indexes.length, 1, 'one index on created_at')
  t.match(indexes[0].indexdef, /USING brin \(created_at\)/, 'a BRIN summary, not a b-tree')
})
