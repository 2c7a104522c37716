import { type ChildProcess, spawn } from 'node:child_process'
import pretty from 'pino-pretty'
import { JOBS } from '../jobs/registry.ts'
import { buildWeb } from '../web/build.ts'
import { loadConfigOrExit } from './config.ts'
import { createSql } from './db/client.ts'
import { migrate } from './db/migrate.ts'
import { resolveDatabase } from './db/resolve.ts'
import { prepareQueues } from './queue/queues.ts'

// `npm start`: embedded Postgres (unless DATABASE_URL is set), migrations, then api and worker.
const config = loadConfigOrExit()
const say = (msg: string) => process.stdout.write(`dev | ${msg}\n`)

// The api, the worker and the database run in process groups of their own: a terminal's Ctrl+C
// reaches this process alone, which stops the api and worker (each drains) and then the database.
// Sent to the whole group, it made the children take this process's SIGTERM for a second signal
// (exit at once, code 1) and stopped the database under them.
// Migrations and pg-boss's schema as the database's owner; the api and the worker log in as the app's role.
const { url, ownerUrl, embedded } = await resolveDatabase(config, say, { detached: true })
const sql = createSql(ownerUrl, { max: 2, applicationName: 'sdc-migrate' })
try {
  await migrate(sql, { log: say })
  await prepareQueues(sql, JOBS, { installSchema: true })
} finally {
  await sql.end()
}

// The web app is rebuilt on every start, so an edit under web/src shows on the next `npm start`.
if (config.webApp) {
  const built = await buildWeb()
  say(`web app built (${(built.scriptGzipBytes / 1024).toFixed(1)} kB of script, gzipped)`)
}

const children = new Map<string, ChildProcess>()
let stopping = false

function start(name: string, entry: string) {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true
  })
  child.stdout?.pipe(
    pretty({ colorize: process.stdout.isTTY, messageFormat: `${name} | {msg}`, ignore: 'pid,hostname' })
  )
  child.on('exit', (code, signal) => {
    children.delete(name)
    say(`${name} exited (${signal ?? `code ${code}`})`)
    if (!stopping) void stop(1)
    else if (children.size === 0) void finish()
  })
  children.set(name, child)
}

let exitCode = 0
async function finish() {
  await embedded?.stop()
  if (embedded) say('embedded database stopped')
  process.exit(exitCode)
}

async function stop(code: number) {
  if (stopping) {
    for (const child of children.values()) child.kill('SIGKILL')
    return
  }
  stopping = true
  exitCode = code
  say('stopping api and worker')
  for (const child of children.values()) child.kill('SIGTERM')
  if (children.size === 0) await finish()
}

process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
// Detached processes outlive this one unless told: if it exits any other way, take them along.
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL')
  embedded?.kill()
})

start('api', new URL('./server.ts', import.meta.url).pathname)
start('worker', new URL('../jobs/worker.ts', import.meta.url).pathname)
say(`api on http://${config.apiHost}:${config.apiPort} (Ctrl+C stops everything)`)
