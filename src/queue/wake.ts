import type { Sql } from '../db/client.ts'

// Waking a worker when a job is enqueued, without NOTIFY in the enqueuing transaction: a NOTIFY
// there serialises every committing transaction on Postgres's notification queue. Here the api sends one NOTIFY per queue after the
// commit, at most every WAKE_INTERVAL_MS however many jobs it enqueues, and a worker that hears it
// fetches at once instead of at its next poll. A lost notification costs one polling interval.

export const WAKE_CHANNEL = 'sdc_jobs'
/** The most often an api process notifies about one queue. */
export const WAKE_INTERVAL_MS = 10

/** Returns `wake(queue)`: notifies now, or once at the end of the current interval if it just did. */
export function createWaker(sql: Sql, onError: (err: Error) => void, intervalMs = WAKE_INTERVAL_MS) {
  const last = new Map<string, number>()
  const pending = new Set<string>()
  const send = (queue: string) => {
    last.set(queue, Date.now())
    sql.notify(WAKE_CHANNEL, queue).catch(onError)
  }
  return function wake(queue: string): void {
    if (pending.has(queue)) return
    const wait = (last.get(queue) ?? 0) + intervalMs - Date.now()
    if (wait <= 0) {
      send(queue)
      return
    }
    pending.add(queue)
    setTimeout(() => {
      pending.delete(queue)
      send(queue)
    }, wait).unref()
  }
}

/** Calls `onWake(queue)` for every wake notification (postgres.js keeps one listening connection). */
export async function listenForWakes(sql: Sql, onWake: (queue: string) => void): Promise<void> {
  await sql.listen(WAKE_CHANNEL, onWake)
}
