// `npm test`: runs tap against an embedded PostgreSQL 18 started for this run, or against
// DATABASE_URL when set (a superuser's: each test file creates and drops its own database there).
// Either way the cluster gets the app's roles (sql/roles.sql): the app and the worker log in as
// sdc_app_login, migrations run as sdc_owner.
import { spawn } from 'node:child_process'
import { applyRoles } from '../src/db/roles.ts'
import { startScratchPostgres } from './helpers/stack.ts'

const external = process.env.DATABASE_URL
let stop = async () => {}
let adminUrl: string
if (external) {
  adminUrl = external
  await applyRoles(adminUrl)
  process.stdout.write(`# tests use the PostgreSQL at DATABASE_URL\n`)
} else {
  const scratch = await startScratchPostgres()
  adminUrl = scratch.adminUrl
  stop = scratch.stop
  process.stdout.write(`# tests use an embedded PostgreSQL 18 at ${adminUrl}\n`)
}

const env: NodeJS.ProcessEnv = { ...process.env, TEST_ADMIN_DATABASE_URL: adminUrl }
delete env.DATABASE_URL
const tap = spawn('tap', ['--reporter=tap', ...process.argv.slice(2)], { env, stdio: ['ignore', 'pipe', 'inherit'] })

let passed = 0
let failed = 0
let failedInFile = 0
let buffer = ''
tap.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  buffer += chunk.toString()
  const lines = buffer.split('\n')
  buffer = lines.pop() ?? ''
  for (const line of lines) {
    // Named tests (subtests end with "# time="), at any depth below the file; not each assertion.
    if (/^ {4,}ok \d+.*# time=/.test(line)) passed++
    else if (/^ {4,}not ok \d+.*# time=/.test(line)) {
      failed++
      failedInFile++
    } else if (/^(not )?ok \d+/.test(line)) {
      // A file that failed outside any named test (a crash, a timeout) still counts once.
      if (line.startsWith('not ok') && failedInFile === 0) failed++
      failedInFile = 0
    }
  }
})
const code = await new Promise<number>((resolve) => tap.on('exit', (c) => resolve(c ?? 1)))
await stop()
const summary = `${passed} passed, ${failed} failed`
process.stdout.write(`\ntests: ${summary}\n`)
if (process.env.TEST_SUMMARY_FILE) {
  const { appendFile } = await import('node:fs/promises')
  await appendFile(process.env.TEST_SUMMARY_FILE, `${passed} ${failed}\n`)
}
process.exit(code !== 0 && failed === 0 ? 1 : code)
