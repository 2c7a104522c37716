import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import t from 'tap'
import { createSql } from '../src/db/client.ts'
import { setContext } from '../src/db/context.ts'
import { readHealthChecks } from '../src/db/health.ts'
import { migrate, readMigrations } from '../src/db/migrate.ts'
import { appRoleProblems } from '../src/db/role-check.ts'
import { applyRoles, LoginRoles, ROLES_FILE, urlAs } from '../src/db/roles.ts'
import { adminUrl, createTestDatabase, superuserUrl, testSql } from './helpers/db.ts'
import { fork } from './helpers/process.ts'
import { runSqlText } from './helpers/sql-files.ts'

const run = promisify(execFile)
const runbook = await readFile(new URL('../RUNBOOK.md', import.meta.url), 'utf8')
const sqlBlocks = [...runbook.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1])
const rolesSql = await readFile(ROLES_FILE, 'utf8')
const HAND_OVER = /^-- Hands the database/

t.test('the health queries in the RUNBOOK are the files, word for word', async (t) => {
  const checks = await readHealthChecks()
  for (const check of checks) t.ok(sqlBlocks.includes(check.sql), `sql/health/${check.name}.sql is inline`)
  const correlate = await readFile(new URL('../sql/queries/correlate_request.sql', import.meta.url), 'utf8')
  t.ok(sqlBlocks.includes(correlate), 'the correlation query is inline')
})

t.test('the RUNBOOK’s driver check runs as written and finds the install patched', async (t) => {
  const [command] = [...runbook.matchAll(/```bash\n\s*(npx node -e .*missingDriverFixes.*)\n/g)].map((m) => m[1])
  t.ok(command, 'the command is in the RUNBOOK')
  const root = new URL('..', import.meta.url).pathname
  const { stdout } = await run('sh', ['-c', command], { cwd: root })
  t.equal(stdout.trim(), '[]', 'every fix of patches/ is in the installed driver')
})

t.test('every SQL block in the RUNBOOK runs against the real schema', async (t) => {
  const { url } = await createTestDatabase(t)
  // As the app's role, as the processes run.
  const sql = testSql(t, url)
  t.ok(sqlBlocks.length >= 15)
  t.ok(sqlBlocks.includes(rolesSql), 'sql/roles.sql is inline, word for word')
  t.ok(
    sqlBlocks.some((block) => HAND_OVER.test(block)),
    'and the hand-over of an older database (tested below)'
  )
  for (const block of sqlBlocks) {
    if (HAND_OVER.test(block)) continue
    // The roles are several statements (cluster-wide and idempotent), run as a superuser; the rest are one query each.
    if (block === rolesSql) {
      await testSql(t, adminUrl()).unsafe(block).simple()
      const [grant] = await sql`select has_table_privilege('sdc_app', 'app.audit_log', 'UPDATE') as can_update`
      t.equal(grant.can_update, false, 'the app role cannot rewrite the audit log')
      const sealed = await sql.begin(async (tx) => {
        await tx`insert into app.audit_log ${tx({ action: 'runbook.role', outcome: 'success' })}`
        const [user] = await tx`insert into app.users (email, email_normalized, display_name, password_hash)
          values ('role@example.com', 'role@example.com', 'Role', '!') returning id`
        // Workspaces and runs are under row-level security: the transaction acts for their owner.
        await setContext(tx, { userId: user.id })
        const [ws] = await tx`insert into app.workspaces (owner_id, name, design)
          values (${user.id}, 'role', '{"components": [], "links": []}') returning id`
        await tx`insert into app.simulation_runs (id, workspace_id, owner_id, design, traffic, seed)
          values (gen_random_uuid(), ${ws.id}, ${user.id}, '{}', '{}', 1)`
        const [counted] = await tx`select stored from app.user_run_counts where owner_id = ${user.id}`
        t.equal(counted?.stored, 1, 'a run it stores is counted, through the definer trigger')
        await t.rejects(
          tx.savepoint((sp) => sp`update app.user_run_counts set stored = 0`),
          { message: /permission denied/ },
          'it cannot lower its own count'
        )
        await t.rejects(
          tx.savepoint((sp) => sp`update app.audit_log set action = 'x'`),
          'and UPDATE is denied to it'
        )
        await tx.savepoint((sp) => sp`insert into app.audit_log ${sp({ action: 'runbook.app', outcome: 'success' })}`)
        for (const forged of [{ id: 1 }, { created_at: new Date(0) }, { chain_seq: 1, prev_hash: '0', hash: '0' }]) {
          await t.rejects(
            tx.savepoint(
              (sp) => sp`insert into app.audit_log ${sp({ action: 'runbook.forged', outcome: 'success', ...forged })}`
            ),
            { message: /permission denied/ },
            `it inserts content, never ${Object.keys(forged).join(', ')}`
          )
        }
        // The attacks of a role that once had CREATE on app: an exact-type overload the definer
        // would resolve first; a temporary one (pg_temp is never searched for functions).
        await t.rejects(
          tx.savepoint(
            (sp) => sp`create function app.cardinality(bigint[]) returns integer language sql as 'select 0'`
          ),
          { message: /permission denied for schema app/ },
          'it cannot create a function in app'
        )
        await tx.savepoint((sp) =>
          sp.unsafe(`create function pg_temp.cardinality(bigint[]) returns integer language plpgsql as
            $f$ begin raise exception 'hijacked'; end $f$`)
        )
        for (const [what, statement] of [
          ['disable the triggers', 'alter table app.audit_log disable trigger all'],
          ['truncate', 'truncate app.audit_log'],
          ['alter the table', 'alter table app.audit_log add column forged text'],
          ['drop the table', 'drop table app.audit_log'],
          [
            'replace the sealer',
            'create or replace function app.seal_audit_log(max_rows integer) returns integer language sql as $f$ select 0 $f$'
          ]
        ]) {
          await t.rejects(
            tx.savepoint((sp) => sp.unsafe(statement)),
            { message: /must be owner|permission denied/ },
            `it cannot ${what}`
          )
        }
        const [{ made }] = await tx`select app.ensure_telemetry_partitions(current_date + 40, 1) as made`
        t.equal(made, 2, 'it creates tomorrow’s partitions through the definer function, without CREATE')
        return (await tx`select app.seal_audit_log(100) as n`)[0].n
      })
      t.ok(sealed >= 1, 'yet it can seal the chain through the security-definer function, unhijacked')
      continue
    }
    const rows = await runSqlText(sql, block, { id: 'runbook-test' })
    t.ok(Array.isArray(rows), block.split('\n')[0].slice(0, 80))
  }
})

t.test('an older database, its objects a superuser’s, is handed to sdc_owner and migrates on as it', async (t) => {
  const { url, ownerUrl } = await createTestDatabase(t, { migrated: false })
  const superuser = testSql(t, superuserUrl(url))
  const files = await readMigrations()
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
  const dir = await mkdtemp(join(tmpdir(), 'sdc-migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const file of files) await writeFile(join(dir, file.file), file.sql)
  // The older way: everything migrated and installed by a superuser.
  await migrate(superuser, { dir })
  const { prepareQueues } = await import('../src/queue/queues.ts')
  const { JOBS } = await import('../jobs/registry.ts')
  await prepareQueues(superuser, JOBS, { installSchema: true })

  await superuser.unsafe(sqlBlocks.find((block) => HAND_OVER.test(block)) as string).simple()
  const left = await superuser`
    select c.oid::regclass::text as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('app', 'pgboss') and c.relowner = current_user::regrole
    union all
    select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('app', 'pgboss') and p.proowner = current_user::regrole
    union all
    select t.oid::regtype::text from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname in ('app', 'pgboss') and t.typowner = current_user::regrole
    union all
    select nspname from pg_namespace where nspname in ('app', 'pgboss') and nspowner = current_user::regrole
  `
  t.same(left, [], 'nothing of app or pgboss is the superuser’s any more')

  const next = String(files.length + 1).padStart(4, '0')
  await writeFile(join(dir, `${next}_later.sql`), 'create table app.later (id int primary key);')
  const owner = testSql(t, ownerUrl)
  t.same((await migrate(owner, { dir })).applied, [`${next}_later.sql`], 'the owner migrates on')
  await prepareQueues(owner, JOBS, { installSchema: true })
  const app = testSql(t, url)
  await app`insert into app.later values (1)`
  t.same(await app`select id from app.later`, [{ id: 1 }], 'and the app reaches what it makes')
  t.same(await appRoleProblems(app), [], 'the app’s role still owns nothing')
})

t.test('the backup and restore procedure works and the restored chain verifies', async (t) => {
  // pg_dump must not be older than the server, so this uses the machine's PostgreSQL service
  // (the same major version as the client tools) whatever server the rest of the suite uses.
  const base = 'postgres://postgres@127.0.0.1:5432'
  const name = `sdc_backup_${randomBytes(4).toString('hex')}`
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} })
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.unsafe(`drop database if exists ${name}_restore with (force)`)
    await admin.end()
  })
  await admin.unsafe(`create database ${name}`)
  await applyRoles(`${base}/postgres`)
  const source = createSql(`${base}/${name}`, { max: 2 })
  await migrate(source)
  for (let i = 0; i < 5; i++)
    await source`insert into app.audit_log ${source({ action: 'backup.test', outcome: 'success' })}`
  // A workspace: a table under FORCE ROW LEVEL SECURITY, which the backup's login must read whole.
  const [owner] = await source`insert into app.users (email, email_normalized, display_name, password_hash)
    values ('backup@example.com', 'backup@example.com', 'Backup', '!') returning id`
  await source`insert into app.workspaces (owner_id, name, design) values (${owner.id}, 'kept', '{"components": [], "links": []}')`
  await source.end()
  const backupUrl = urlAs(`${base}/${name}`, LoginRoles.backup)
  const backup = createSql(backupUrl, { max: 1 })
  t.teardown(() => backup.end())
  await t.rejects(backup`delete from app.audit_log`, { code: '25006' }, 'the backup login writes nothing')
  t.same(
    (await backup`select name from app.workspaces`).map((r) => r.name),
    ['kept'],
    'and reads past the policies'
  )

  const dir = await mkdtemp(join(tmpdir(), 'sdc-backup-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const dump = join(dir, 'sdc.dump')
  await run('pg_dump', ['--format=custom', `--file=${dump}`, backupUrl])
  await run('createdb', ['-h', '127.0.0.1', '-U', 'postgres', `${name}_restore`])
  await run('pg_restore', ['--no-owner', `--dbname=${base}/${name}_restore`, dump])
  const status = fork('src/cli.ts', { DATABASE_URL: `${base}/${name}_restore` }, ['migrate:status'])
  t.equal(await status.exited, 0, status.stderr.join(''))
  const verify = fork('src/cli.ts', { DATABASE_URL: `${base}/${name}_restore` }, ['audit:verify'])
  t.equal(await verify.exited, 0, verify.stderr.join(''))
  t.match(verify.stdout.join('\n'), /audit chain verified: 5 rows/)
  const restored = postgres(`${base}/${name}_restore`, { max: 1, onnotice: () => {} })
  t.teardown(() => restored.end())
  t.same(
    (await restored`select name from app.workspaces`).map((r) => r.name),
    ['kept'],
    'the dump held the workspace'
  )
})
