import { loadConfigOrExit } from './config.ts'
import { createSql } from './db/client.ts'
import { MigrationError, migrate, migrationStatus } from './db/migrate.ts'
import { resolveDatabase } from './db/resolve.ts'

const USAGE = `usage: npm run cli -- <command>

commands:
  migrate           apply pending migrations (and install the queue schema)
  migrate:status    list applied and pending migrations; exit 1 when any is pending or edited
`

const out = (text: string) => process.stdout.write(`${text}\n`)
const err = (text: string) => process.stderr.write(`${text}\n`)

const [command, ...args] = process.argv.slice(2)
const commands: Record<string, (url: string, args: string[]) => Promise<number>> = {
  async migrate(url) {
    const sql = createSql(url, { max: 2, applicationName: 'sdc-migrate' })
    try {
      const { applied } = await migrate(sql, { log: out })
      out(applied.length === 0 ? 'migrations: nothing to apply' : `migrations: applied ${applied.length}`)
      const { createBoss } = await import('../jobs/boss.ts')
      const { QUEUES } = await import('../jobs/queues.ts')
      const boss = createBoss(sql, { role: 'cli', onError: (e) => err(`queue error: ${e.message}`) })
      await boss.start()
      for (const queue of QUEUES) await boss.createQueue(queue.name, queue.options)
      await boss.stop({ graceful: false, close: false })
      out('queue schema: ready')
      return 0
    } finally {
      await sql.end()
    }
  },
  async 'migrate:status'(url) {
    const sql = createSql(url, { max: 1, applicationName: 'sdc-cli' })
    try {
      const status = await migrationStatus(sql)
      for (const m of status.applied) {
        const mark = m.checksumMatches ? 'applied' : 'EDITED '
        out(`${mark}  ${String(m.version).padStart(4, '0')}_${m.name}  ${m.appliedAt.toISOString()}`)
      }
      for (const m of status.pending) out(`pending  ${String(m.version).padStart(4, '0')}_${m.name}`)
      out(
        `${status.applied.length} applied, ${status.pending.length} pending, ${status.drifted.length} edited after applying`
      )
      return status.pending.length > 0 || status.drifted.length > 0 ? 1 : 0
    } finally {
      await sql.end()
    }
  }
}

async function main(): Promise<number> {
  const run = command ? commands[command] : undefined
  if (!run) {
    err(command ? `unknown command: ${command}\n` : '')
    err(USAGE)
    return 2
  }
  const config = loadConfigOrExit()
  const { url, embedded } = await resolveDatabase(config, err)
  try {
    return await run(url, args)
  } catch (e) {
    if (e instanceof MigrationError) {
      err(`error: ${e.message}`)
      return 1
    }
    throw e
  } finally {
    await embedded?.stop()
  }
}

process.exitCode = await main()
