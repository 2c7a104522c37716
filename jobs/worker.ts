import { parseArgs } from 'node:util'
import pino from 'pino'
import { loadConfigOrExit } from '../src/config.ts'
import { createSql } from '../src/db/client.ts'
import { resolveDatabase } from '../src/db/resolve.ts'
import { checkAppRoleOrExit } from '../src/db/role-check.ts'
import { createEnginePool } from '../src/engine/pool.ts'
import { loggerOptions } from '../src/logging.ts'
import { createBoss } from '../src/queue/boss.ts'
import type { BatchHandler } from '../src/queue/jobs.ts'
import { prepareQueues } from '../src/queue/queues.ts'
import { listenForWakes } from '../src/queue/wake.ts'
import { handleShutdownSignals } from '../src/shutdown.ts'
import { instrumentStatements, startTracingFromConfig } from '../src/tracing.ts'
import { BATCH_SIZE } from './define.ts'
import * as maintenance from './maintenance.ts'
import { JOBS } from './registry.ts'
import * as simulation from './simulation.ts'

const config = loadConfigOrExit()
// Before the logger: with tracing on, every log line carries the trace it was written in.
const tracing = startTracingFromConfig(config.tracing, 'worker')
const log = pino(loggerOptions(config.logLevel)).child({
  process: 'worker'
})

const { values } = parseArgs({ options: { queues: { type: 'string' } } })
const known = JOBS.map((job) => job.name)
const selected = values.queues ? values.queues.split(',').map((q) => q.trim()) : known
const unknown = selected.filter((q) => !known.includes(q))
if (unknown.length > 0) {
  log.fatal(`unknown queue(s): ${unknown.join(', ')} (known: ${known.join(', ')})`)
  process.exit(2)
}

const { url, embedded } = await resolveDatabase(config, (msg, level) => log[level ?? 'info'](msg), { wait: true })
await checkAppRoleOrExit(config, url, (msg, level) => log[level ?? 'info'](msg))
const sql = createSql(url, {
  max: config.databasePoolMax,
  applicationName: 'sdc-worker',
  requirePatchedDriver: config.isProduction
})
instrumentStatements(sql)
const boss = createBoss(sql, {
  role: 'worker',
  onError: (err) => log.error({ err }, 'queue error'),
  superviseIntervalSeconds: config.workerSuperviseIntervalSeconds
})
await prepareQueues(sql, JOBS)
await boss.start()

const workOptions = {
  batchSize: BATCH_SIZE,
  pollingIntervalSeconds: config.workerPollIntervalSeconds,
  burstWhenBatchFull: true,
  includeMetadata: true,
  perJobResults: true
} as const
const jobs = JOBS.filter((job) => selected.includes(job.name))
// Simulations run on engine threads: the handler's claims and results go to the database in a
// few coalesced statements. The other queues' handlers are mostly database work.
const engine = selected.includes(simulation.job.name)
  ? createEnginePool(config.workerEngineThreads, { timeoutMs: config.simulationTimeoutMs })
  : null
const deps = { sql, config, engine, log }
const workers = new Map<string, string[]>()
for (const job of jobs) {
  const handler = job.create(deps)
  const options = job.groupConcurrency ? { ...workOptions, groupConcurrency: job.groupConcurrency } : workOptions
  // Each loop registered on its own, so that a wake notification can reach every one of them.
  const ids: string[] = []
  for (let loop = 0; loop < (job.fetchLoops ?? 1); loop++) {
    let id = ''
    // A group's next job is fetchable only once its batch completes: the loop looks again at once, not a poll later.
    const work: BatchHandler = job.groupConcurrency
      ? (batch) => handler(batch).finally(() => boss.notifyWorker(id))
      : handler
    id = await boss.work(job.name, options, work)
    ids.push(id)
  }
  workers.set(job.name, ids)
  log.info({ queue: job.name }, 'working queue')
}
// A job enqueued through the api wakes the loops of its queue at once (src/queue/wake.ts).
const grouped = new Set(jobs.filter((job) => job.groupConcurrency).map((job) => job.name))
await listenForWakes(sql, (queue) => {
  const ids = workers.get(queue) ?? []
  // A grouped queue wakes one idle loop: two fetching at the same instant could each take a job of one group.
  const idle = grouped.has(queue) ? boss.getWipData().find((w) => ids.includes(w.id) && w.count === 0) : undefined
  for (const id of idle ? [idle.id] : ids) boss.notifyWorker(id)
})
if (selected.includes(maintenance.job.name)) {
  await boss.schedule(maintenance.job.name, maintenance.SCHEDULE, { task: 'housekeeping' })
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
    { name: 'embedded database stopped', run: async () => embedded?.stop() },
    { name: 'spans flushed', run: async () => tracing?.shutdown() }
  ]
})
log.info({ queues: selected }, 'worker ready')
