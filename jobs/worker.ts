import { parseArgs } from 'node:util'
import pino from 'pino'
import { REDACT_PATHS } from '../src/app.ts'
import { loadConfigOrExit } from '../src/config.ts'
import { createSql } from '../src/db/client.ts'
import { resolveDatabase } from '../src/db/resolve.ts'
import { handleShutdownSignals } from '../src/shutdown.ts'
import { createBoss } from './boss.ts'
import * as email from './email.ts'
import { createEnginePool } from './engine-pool.ts'
import * as exporter from './export.ts'
import * as grading from './grading.ts'
import * as maintenance from './maintenance.ts'
import { prepareQueues, QUEUES } from './queues.ts'
import * as simulation from './simulation.ts'
import { type JobHandler, type TelemetryHooks, withJobTelemetry } from './telemetry.ts'
import { listenForWakes } from './wake.ts'

const config = loadConfigOrExit()
const log = pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }).child({
  process: 'worker'
})

const { values } = parseArgs({ options: { queues: { type: 'string' } } })
const known = QUEUES.map((q) => q.name)
const selected = values.queues ? values.queues.split(',').map((q) => q.trim()) : known
const unknown = selected.filter((q) => !known.includes(q))
if (unknown.length > 0) {
  log.fatal(`unknown queue(s): ${unknown.join(', ')} (known: ${known.join(', ')})`)
  process.exit(2)
}

const { url, embedded } = await resolveDatabase(config, (msg, level) => log[level ?? 'info'](msg), { wait: true })
const sql = createSql(url, {
  max: config.databasePoolMax,
  applicationName: 'sdc-worker',
  requirePatchedDriver: config.isProduction
})
const boss = createBoss(sql, {
  role: 'worker',
  onError: (err) => log.error({ err }, 'queue error'),
  superviseIntervalSeconds: config.workerSuperviseIntervalSeconds
})
await prepareQueues(sql)
await boss.start()

// Batches with burst fetching: batchSize 1 would sleep the polling interval after every job.
const workOptions = {
  batchSize: 20,
  pollingIntervalSeconds: config.workerPollIntervalSeconds,
  burstWhenBatchFull: true,
  includeMetadata: true,
  perJobResults: true
} as const
// Simulations run on engine threads, a whole batch at a time: the threads always have the next run
// queued, and the handler's claims and results go to the database in a few coalesced statements.
// The other queues' handlers are mostly database work and take their jobs one at a time.
const engine = selected.includes(simulation.queue.name)
  ? createEnginePool(config.workerEngineThreads, { timeoutMs: config.simulationTimeoutMs })
  : null
const handlers: Record<
  string,
  { handle: JobHandler<never>; hooks?: TelemetryHooks<never>; concurrency?: number; fetchLoops?: number }
> = {
  // Two fetch loops: a batch waits for its slowest run (at most SIMULATION_TIMEOUT_MS), and the
  // other loop keeps fetching meanwhile, so one slow run never holds back the queue.
  [simulation.queue.name]: {
    handle: simulation.createHandler(sql, engine) as JobHandler<never>,
    hooks: simulation.hooks(sql),
    concurrency: engine ? workOptions.batchSize : undefined,
    fetchLoops: 2
  },
  [grading.queue.name]: { handle: grading.createHandler(sql) as JobHandler<never>, hooks: grading.hooks(sql) },
  [exporter.queue.name]: { handle: exporter.createHandler(sql) as JobHandler<never>, hooks: exporter.hooks(sql) },
  [email.queue.name]: {
    handle: email.createHandler(
      sql,
      config.email,
      email.createMailer(sql, config.email, (msg) => log.info(msg))
    ) as JobHandler<never>
  },
  [maintenance.queue.name]: {
    handle: maintenance.createHandler(sql, {
      retentionDays: config.telemetryRetentionDays,
      loginFailureKeepMinutes: Math.max(config.login.attemptWindowMinutes, config.login.lockoutMinutes)
    }) as JobHandler<never>
  }
}
const workers = new Map<string, string[]>()
for (const name of selected) {
  const { handle, hooks, concurrency, fetchLoops = 1 } = handlers[name]
  const handler = withJobTelemetry(
    sql,
    name,
    handle,
    {
      ...hooks,
      onError: (err, job) => log.warn({ err, queue: name, jobId: job.id, attempt: job.retryCount + 1 }, 'job failed')
    },
    concurrency
  )
  // Each loop registered on its own, so that a wake notification can reach every one of them.
  const ids: string[] = []
  for (let loop = 0; loop < fetchLoops; loop++) ids.push(await boss.work(name, workOptions, handler))
  workers.set(name, ids)
  log.info({ queue: name }, 'working queue')
}
// A job enqueued through the api wakes the loops of its queue at once (jobs/wake.ts).
await listenForWakes(sql, (queue) => {
  for (const id of workers.get(queue) ?? []) boss.notifyWorker(id)
})
if (selected.includes(maintenance.queue.name)) {
  await boss.schedule(maintenance.queue.name, maintenance.SCHEDULE, { task: 'housekeeping' })
}

handleShutdownSignals({
  timeoutMs: config.shutdownTimeoutMs,
  log: (msg) => log.info(msg),
  steps: [
    {
      name: 'queue stopped (running jobs finished)',
      run: () => boss.stop({ graceful: true, close: false, timeout: Math.max(1000, config.shutdownTimeoutMs - 2000) })
    },
    { name: 'engine threads stopped', run: async () => engine?.close() },
    { name: 'database pool closed', run: () => sql.end({ timeout: 5 }) },
    { name: 'embedded database stopped', run: async () => embedded?.stop() }
  ]
})
log.info({ queues: selected }, 'worker ready')
