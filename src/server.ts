import { JOBS } from '../jobs/registry.ts'
import { ensureWebBuilt } from '../web/build.ts'
import { buildApp } from './app.ts'
import { loadConfigOrExit } from './config.ts'
import { createSql } from './db/client.ts'
import { migrationStatus } from './db/migrate.ts'
import { resolveDatabase } from './db/resolve.ts'
import { checkAppRoleOrExit } from './db/role-check.ts'
import { exercises } from './exercises/index.ts'
import { handleShutdownSignals } from './shutdown.ts'
import { startTracingFromConfig } from './tracing.ts'

const config = loadConfigOrExit()
const tracing = startTracingFromConfig(config.tracing, 'api')
const line = (msg: string, level?: 'warn') =>
  process.stdout.write(`${JSON.stringify({ level: level === 'warn' ? 40 : 30, time: Date.now(), msg })}\n`)
const { url, ownerUrl, embedded } = await resolveDatabase(config, line, { wait: true })

if (embedded) {
  // Development convenience: the embedded database is migrated on start. Production runs `npm run migrate`.
  const { migrate } = await import('./db/migrate.ts')
  const { prepareQueues } = await import('./queue/queues.ts')
  const sql = createSql(ownerUrl, { max: 2, applicationName: 'sdc-migrate' })
  await migrate(sql, { log: line })
    .then(() => prepareQueues(sql, JOBS, { installSchema: true }))
    .finally(() => sql.end())
} else {
  const sql = createSql(url, { max: 1, applicationName: 'sdc-api-check' })
  const status = await migrationStatus(sql).finally(() => sql.end())
  if (status.pending.length > 0)
    line(`${status.pending.length} migration(s) pending: run npm run migrate (readiness answers 503 until then)`)
}
await checkAppRoleOrExit(config, url, line)

const webRoot = config.webApp ? await ensureWebBuilt() : undefined
const app = await buildApp(config, { databaseUrl: url, queues: JOBS, webRoot })
if (config.bypassAuth) app.log.warn('BYPASS_AUTH is enabled: every request is authenticated as the development user')

handleShutdownSignals({
  timeoutMs: config.shutdownTimeoutMs,
  log: (msg) => app.log.info(msg),
  steps: [
    {
      name: `readiness 503, draining for ${config.shutdownDrainMs} ms`,
      run: async () => {
        app.lifecycle.draining = true
        await new Promise((r) => setTimeout(r, config.shutdownDrainMs))
      }
    },
    { name: 'server closed (in-flight requests finished, queue stopped, pool closed)', run: () => app.close() },
    { name: 'embedded database stopped', run: async () => embedded?.stop() },
    { name: 'spans flushed', run: async () => tracing?.shutdown() }
  ]
})

// The exercises are read and their checks validated once a process, before the first request waits for it.
const loaded = exercises(app.catalogue)
for (const refused of loaded.refused) app.log.warn(refused)
app.log.info({ exercises: loaded.list.length, ms: loaded.loadMs }, 'exercises loaded')

await app.listen({ host: config.apiHost, port: config.apiPort })
