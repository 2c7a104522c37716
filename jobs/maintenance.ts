import type { Job } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import type { QueueDefinition } from './queues.ts'

export const queue: QueueDefinition = {
  name: 'maintenance',
  options: { retryLimit: 2, retryDelay: 30, expireInSeconds: 15 * 60, policy: 'standard' }
}

/** Runs every 15 minutes from the worker's schedule. */
export const SCHEDULE = '*/15 * * * *'

export type MaintenanceData = { task: 'housekeeping' } | { task: 'probe'; holdMs?: number }

export class InvalidPayload extends Error {}

export function parse(data: unknown): MaintenanceData {
  const d = data as Record<string, unknown> | null
  if (d?.task === 'housekeeping') return { task: 'housekeeping' }
  if (d?.task === 'probe') {
    const holdMs = d.holdMs ?? 0
    if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 0 || holdMs > 60_000) {
      throw new InvalidPayload('probe.holdMs must be an integer from 0 to 60000')
    }
    return { task: 'probe', holdMs }
  }
  throw new InvalidPayload('maintenance job needs task housekeeping or probe')
}

function hold(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export function createHandler(sql: Sql) {
  return async function maintenance(jobs: Job<unknown>[]): Promise<unknown[]> {
    const results: unknown[] = []
    for (const job of jobs) {
      const data = parse(job.data)
      if (data.task === 'probe') {
        // An operator's end-to-end check of the worker loop (RUNBOOK: "is the worker alive?").
        await hold(data.holdMs ?? 0, job.signal)
        results.push({ task: 'probe', pid: process.pid, completedAt: new Date().toISOString() })
        continue
      }
      // Bulk inserts leave the job table's statistics stale, and fetches slow down badly without them.
      await sql`analyze pgboss.job`
      results.push({ task: 'housekeeping' })
    }
    return results
  }
}
