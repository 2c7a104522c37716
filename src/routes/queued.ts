import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import type { Fragment, TransactionSql } from '../db/client.ts'
import { enqueueJob } from '../queue/enqueue.ts'
import type { JobData, JobMessage } from '../queue/messages.ts'
import { Uuid } from '../schemas.ts'
import { unsampledCarrier } from '../tracing.ts'

/** What a route that hands work to a queue answers: 202 with the new resource's id. */
export const Accepted = Type.Object({ id: Uuid, status: Type.Literal('queued') }, { additionalProperties: false })

/**
 * A job's data naming the trace of a request that was not sampled (it has ids, no span to
 * propagate): its job is then not sampled either, and its telemetry rows carry the trace id.
 */
const withUnsampledTrace = <T>(request: FastifyRequest, data: T): T =>
  request.traceIds && !request.traceContext
    ? ({ ...(data as object), ...unsampledCarrier(request.traceIds) } as T)
    : data

/**
 * A 202 route's writes, pipelined in one round trip: its row (`insert`, given the audit row to put
 * in front), the job with its `queued` telemetry row, and the Idempotency-Key
 * with the answer it replays. Resolves to that answer, the route's 202 body.
 */
export async function acceptQueued<M extends JobMessage>(
  fastify: FastifyInstance,
  tx: TransactionSql,
  request: FastifyRequest,
  job: {
    message: M
    id: string
    data: JobData<M>
    changes: Record<string, unknown>
    /** The job's group (its queue's groupConcurrency limits the group's jobs active at once). */
    group?: string
  },
  insert: (audit: Fragment) => Fragment
): Promise<Static<typeof Accepted>> {
  const accepted = { id: job.id, status: 'queued' as const }
  request.enqueuedOn = job.message.name
  await Promise.all([
    insert(request.audit(tx, { resourceId: job.id, statusCode: 202, changes: job.changes })),
    enqueueJob(fastify.boss, tx, job.message, withUnsampledTrace(request, job.data), request.id, {
      id: job.id,
      ...(job.group ? { group: { id: job.group } } : {})
    }),
    request.idempotent(tx, 202, accepted)
  ])
  return accepted
}
