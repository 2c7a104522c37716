import type { PgBoss, SendOptions } from 'pg-boss'
import type { TransactionSql } from '../db/client.ts'
import { uuidv7 } from '../ids.ts'
import { inSpan, SpanKind, traceCarrier, traceIdOf } from '../tracing.ts'
import { fromPostgresJs } from './boss.ts'
import { insertLifecycle, insertPlainJob } from './statements.ts'

/**
 * Sends a job inside the caller's transaction together with its `queued` telemetry row:
 * the change, its job and the job's first lifecycle row commit or roll back together.
 * A plain job (no options but its id and group) on a standard-policy queue is one statement
 * (insertPlainJob); anything else goes through pg-boss's `send` on the caller's transaction.
 * Product queues poll (no NOTIFY), so none is sent here; the api wakes the workers after the
 * commit (src/queue/wake.ts).
 */
export async function enqueueJob<T extends object>(
  boss: PgBoss,
  tx: TransactionSql,
  queue: string,
  data: T,
  requestId: string | null,
  options: SendOptions = {}
): Promise<string | null> {
  return inSpan(
    `enqueue ${queue}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'pg-boss', 'messaging.destination.name': queue } },
    async (span) => {
      const id = await send(boss, tx, queue, data, requestId, options)
      if (id) span?.setAttribute('messaging.message.id', id)
      return id
    }
  )
}

async function send<T extends object>(
  boss: PgBoss,
  tx: TransactionSql,
  queue: string,
  data: T,
  requestId: string | null,
  options: SendOptions
): Promise<string | null> {
  const { id = uuidv7(), group, ...sendOptions } = options
  // The job carries the enqueuing span's W3C trace context: the worker continues the same trace.
  const traced = { ...data, requestId, ...traceCarrier() }
  const traceId = traceIdOf(traced.traceparent)
  if (Object.keys(sendOptions).length === 0) {
    const rows = await insertPlainJob(tx, queue, id, traced, requestId, traceId, group)
    if (rows.length !== 1)
      throw new Error(`queue ${queue} refused the job: it is missing or not a standard-policy queue`)
    return id
  }
  // Singletons and other options go through pg-boss; a throttled singleton is refused (null):
  // then there is no job, and no telemetry row either.
  const sent = await boss.send(queue, traced, { ...options, id, db: fromPostgresJs(tx, { prepare: true }) })
  if (sent) {
    await insertLifecycle(tx, [
      {
        queue,
        job_id: id,
        event: 'queued',
        attempt: 0,
        duration_ms: null,
        error_message: null,
        request_id: requestId,
        trace_id: traceId
      }
    ])
  }
  return sent
}
