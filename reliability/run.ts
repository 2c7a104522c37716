// `npm run reliability [-- --short] [-- --only name,name] [-- --out FILE] [-- --seed N]`
// Runs every reliability scenario against real processes, a real PostgreSQL (embedded, or the
// server at DATABASE_URL) and Redis (REDIS_URL, default redis://127.0.0.1:6379 when it answers),
// then writes one JSON report. Exit 1 when any invariant was broken.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { type Context, DatabaseFactory, type Result, startScratchPostgres } from '../test/helpers/stack.ts'
import { SCENARIOS } from './scenarios/index.ts'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'reliability/results/latest.json' },
    seed: { type: 'string' }
  }
})

async function redisAt(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)

const SUMMED = [
  'requests',
  '2xx',
  '4xx',
  '503',
  'other5xx',
  'connectionErrors',
  'timeouts',
  'mutationsWithoutAudit',
  'auditsWithoutMutation',
  'acknowledgedButLost',
  'jobsCreated',
  'jobsCompleted',
  'jobsFailed',
  'jobsDeadLettered',
  'jobsLost',
  'jobsDuplicated',
  'jobsResultWrittenTwice',
  'fuzzRuns'
]

/** Totals over every scenario (HTTP figures nested per phase count too), for the README. */
function summarize(scenarios: Record<string, { figures?: Record<string, unknown> }>) {
  const totals: Record<string, number> = Object.fromEntries(SUMMED.map((k) => [k, 0]))
  const add = (figures: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value === 'number' && key in totals) totals[key] += value
      else if (value && typeof value === 'object' && 'requests' in value) add(value as Record<string, unknown>)
    }
  }
  for (const scenario of Object.values(scenarios)) if (scenario.figures) add(scenario.figures)
  return totals
}
const selected = values.only ? values.only.split(',') : Object.keys(SCENARIOS)
const unknown = selected.filter((name) => !(name in SCENARIOS))
if (unknown.length > 0) {
  log(`unknown scenario(s): ${unknown.join(', ')} (known: ${Object.keys(SCENARIOS).join(', ')})`)
  process.exit(2)
}
if (values.seed) process.env.FUZZ_SEED = values.seed

const scratch = process.env.DATABASE_URL ? null : await startScratchPostgres()
const adminUrl = process.env.DATABASE_URL ?? (scratch?.adminUrl as string)
const candidateRedis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const redisUrl = (await redisAt(candidateRedis)) ? candidateRedis : undefined
if (!redisUrl) log(`no Redis at ${candidateRedis}: the Redis and scale-out scenarios are skipped`)

const databases = new DatabaseFactory(adminUrl)
const ctx: Context = {
  mode: values.short ? 'short' : 'long',
  createDatabase: async () => (await databases.create()).url,
  redisUrl,
  log
}

const report: Record<string, unknown> = {
  generatedAt: new Date().toISOString(),
  mode: ctx.mode,
  node: process.version,
  scenarios: {}
}
let broken = 0
try {
  for (const name of selected) {
    const scenario = SCENARIOS[name]
    if (scenario.needsRedis && !redisUrl) {
      ;(report.scenarios as Record<string, unknown>)[name] = { skipped: 'no Redis' }
      continue
    }
    log(`▶ ${name}`)
    const started = Date.now()
    let result: Result
    try {
      result = await scenario.run(ctx)
    } catch (err) {
      result = { figures: {}, violations: [`scenario crashed: ${(err as Error).stack ?? err}`] }
    }
    const durationMs = Date.now() - started
    ;(report.scenarios as Record<string, unknown>)[name] = { durationMs, ...result }
    broken += result.violations.length
    log(`${result.violations.length === 0 ? '✔' : '✘'} ${name} (${(durationMs / 1000).toFixed(1)} s)`)
    log(JSON.stringify(result.figures))
    for (const violation of result.violations) log(`  ✘ ${violation}`)
  }
} finally {
  await databases.dropAll().catch(() => {})
  await scratch?.stop()
}

report.summary = summarize(report.scenarios as Record<string, { figures?: Record<string, unknown> }>)
report.violations = broken
await mkdir(dirname(values.out), { recursive: true })
await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`)
log(`report written to ${values.out}; ${broken} invariant(s) broken`)
process.exit(broken === 0 ? 0 : 1)
