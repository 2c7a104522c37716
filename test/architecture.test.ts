import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { createTestDatabase } from './helpers/db.ts'
import { fork } from './helpers/process.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

t.test('the worker process never loads Fastify', async (t) => {
  const { url } = await createTestDatabase(t)
  const dir = await mkdtemp(join(tmpdir(), 'sdc-loads-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const loads = join(dir, 'loads.txt')
  const worker = fork('jobs/worker.ts', {
    DATABASE_URL: url,
    RECORD_LOADS_FILE: loads,
    NODE_OPTIONS: `--import=${join(ROOT, 'test/helpers/record-loads.mjs')}`
  })
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)
  const urls = (await readFile(loads, 'utf8')).split('\n')
  t.ok(
    urls.some((u) => u.includes('/node_modules/pg-boss/')),
    'the recording sees the modules the worker loads (pg-boss)'
  )
  t.same(
    urls.filter((u) => /\/node_modules\/(fastify|@fastify\/[^/]+)\//.test(u)),
    [],
    'no Fastify module'
  )
  t.same(
    urls.filter((u) => /\/(plugins|src\/routes)\/|\/src\/app\.ts$/.test(u)),
    [],
    'no plugin, route or app module'
  )
})

t.test('a wrong import fails the lint, naming the rule', async (t) => {
  const planted = join(ROOT, 'jobs', 'planted-import.ts')
  await writeFile(planted, "import '../plugins/db.ts'\n")
  t.teardown(() => rm(planted, { force: true }))
  const cruise = run(
    process.execPath,
    [join(ROOT, 'node_modules/.bin/depcruise'), '--config', '.dependency-cruiser.cjs', 'jobs/planted-import.ts'],
    {
      cwd: ROOT
    }
  )
  const err = await cruise.then(
    () => null,
    (e: { stdout: string }) => e
  )
  t.ok(err, 'dependency-cruiser refuses it')
  t.match(err?.stdout, /jobs-import-only-core/, 'and names the rule')
})

t.test('the web app may import web/ and the domain’s shapes, never the server’s parts', async (t) => {
  const planted = join(ROOT, 'web', 'src', 'planted-import.ts')
  t.teardown(() => rm(planted, { force: true }))
  const cruise = () =>
    run(
      process.execPath,
      [join(ROOT, 'node_modules/.bin/depcruise'), '--config', '.dependency-cruiser.cjs', 'web/src/planted-import.ts'],
      { cwd: ROOT }
    ).then(
      () => null,
      (e: { stdout: string }) => e
    )
  await writeFile(
    planted,
    "import type { Catalogue } from '../../src/domain/components.ts'\nexport type C = Catalogue\n"
  )
  t.equal(await cruise(), null, 'the catalogue is allowed')
  for (const wrong of ['../../src/routes/workspaces/schemas.ts', '../../plugins/db.ts', '../../src/domain/engine.ts']) {
    await writeFile(planted, `import '${wrong}'\n`)
    t.match((await cruise())?.stdout, /web-imports-only-web-and-domain-shapes/, `${wrong} is refused, naming the rule`)
  }
})

t.test('the shared test harness never imports the scenarios or the benchmarks that use it', async (t) => {
  const planted = join(ROOT, 'test', 'helpers', 'planted-import.ts')
  t.teardown(() => rm(planted, { force: true }))
  for (const wrong of ['../../reliability/scenarios/index.ts', '../../bench/lib/measure.ts']) {
    await writeFile(planted, `import '${wrong}'\n`)
    const err = await run(
      process.execPath,
      [
        join(ROOT, 'node_modules/.bin/depcruise'),
        '--config',
        '.dependency-cruiser.cjs',
        'test/helpers/planted-import.ts'
      ],
      { cwd: ROOT }
    ).then(
      () => null,
      (e: { stdout: string }) => e
    )
    t.match(err?.stdout, /test-helpers-import-no-scenario-or-benchmark/, `${wrong} is refused, naming the rule`)
  }
})

/** Every .ts file below a folder of the repository. */
async function sources(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), { recursive: true })
  return entries.filter((f) => f.endsWith('.ts')).map((f) => join(folder, f))
}

t.test('the domain is in parts: no file over 500 lines', async (t) => {
  for (const file of await sources('src/domain')) {
    const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n').length - 1
    t.ok(lines <= 500, `${file} has ${lines} lines`)
  }
})

t.test('the domain keeps no module-level mutable state: caches are the caller’s', async (t) => {
  const mutable =
    /^(export )?(let|var) |^(export )?const \w+(: [^=]+)? = (new (Map|Set|WeakMap|WeakSet|Array)\b|\[\]|\{\})/
  for (const file of await sources('src/domain')) {
    const found = (await readFile(join(ROOT, file), 'utf8')).split('\n').filter((line) => mutable.test(line))
    t.same(found, [], file)
  }
  t.ok(mutable.test('const KNOWN = new Map<string, number>()'), 'the check sees a module-level cache')
})

/**
 * Which module holds each table's statements (a file, or a folder's files): adding a table is one
 * line. Other areas' queries that need the table compose the owner's fragments (latestGradeJoin,
 * bestGradeJoin, exportCountOf, userNameJoin, workspaceWithTrafficJoin …) instead of naming it.
 */
const TABLE_OWNERS: Record<string, string> = {
  'app.users': 'src/accounts/users.ts',
  'app.workspaces': 'src/workspaces/',
  'app.simulation_runs': 'src/runs/',
  'app.grade_reports': 'src/runs/',
  'app.report_exports': 'src/exports/',
  'app.audit_log': 'src/audit/'
}

/** The owned tables a source names outside comments. */
function tablesNamed(source: string): string[] {
  const code = source
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/?\*)/.test(line))
    .join('\n')
  return Object.keys(TABLE_OWNERS).filter((table) => {
    const [schema, name] = table.split('.')
    // Qualified anywhere, or unqualified after a keyword that names a table.
    return new RegExp(`\\b${schema}\\.${name}\\b|\\b(from|join|into|update|table)\\s+${name}\\b`, 'i').test(code)
  })
}

t.test('each table’s statements live in the module that owns it', async (t) => {
  const found: Record<string, string[]> = {}
  for (const file of [...(await sources('src')), ...(await sources('jobs'))]) {
    const named = tablesNamed(await readFile(join(ROOT, file), 'utf8')).filter(
      (table) => !file.startsWith(TABLE_OWNERS[table])
    )
    if (named.length > 0) found[file] = named.sort()
  }
  t.same(found, {}, 'no other file names an owned table in SQL')
  t.same(
    tablesNamed('await sql`select count(*) from app.report_exports`'),
    ['app.report_exports'],
    'a statement is seen'
  )
  t.same(tablesNamed('// every statement on app.report_exports'), [], 'a comment is not')
  t.same(tablesNamed('select * from app.users_archive'), [], 'nor a table whose name only starts the same')
  t.same(tablesNamed('delete from grade_reports where id = $1'), ['app.grade_reports'], 'an unqualified name is seen')
})
