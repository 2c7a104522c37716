import type { PgBoss, SendOptions } from 'pg-boss'
import type { TransactionSql } from '../db/client.ts'
import { uuidv7 } from '../ids.ts'
import { inSpan, SpanKind, traceCarrier, traceIdOf } from '../tracing.ts'
import { fromPostgresJs } from './boss.ts'
import { type JobData, type JobMessage, payloadMismatch } from './messages.ts'
import { insertLifecycle, insertPlainJob } from './statements.ts'

/**
 * Sends a job of `job`'s queue (src/queue/messages.ts) inside the caller's transaction together
 * with its `queued` telemetry row: the change, its job and the job's first lifecycle row commit or
 * roll back together. `data` is typed by the queue's payload schema and checked against it before
 * anything is sent: a payload the worker would dead-letter is refused here, with the transaction.
 * A plain job (no options but its id and group) on a standard-policy queue is one statement
 * (insertPlainJob); anything else goes through pg-boss's `send` on the caller's transaction.
 * Product queues poll (no NOTIFY), so none is sent here; the api wakes the workers after the
 * commit (src/queue/wake.ts).
 */
export async function enqueueJob<M extends JobMessage>(
  boss: PgBoss,
  tx: TransactionSql,
  job: M,
  data: JobData<M>,
  requestId: string | null,
  options: SendOptions = {}
): Promise<string | null> {
  const queue = job.name
  return inSpan(
    `enqueue ${queue}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'pg-boss', 'messaging.destination.name': queue } },
    async (span) => {
      const id = await send(boss, tx, job, data as object, requestId, options)
      if (id) span?.setAttribute('messaging.message.id', id)
      return id
    }
  )
}

async function send(
  boss: PgBoss,
  tx: TransactionSql,
  job: JobMessage,
  data: object,
  requestId: string | null,
  options: SendOptions
): Promise<string | null> {
  const queue = job.name
  const { id = uuidv7(), group, ...sendOptions } = options
  // The job carries the enqueuing span's W3C trace context: the worker continues the same trace.
  const traced = { ...data, requestId, ...traceCarrier() }
  const mismatch = payloadMismatch(job, traced)
  if (mismatch) throw new Error(`queue ${queue} refused the job before it was sent: ${mismatch}`)
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
