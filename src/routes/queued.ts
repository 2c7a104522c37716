import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { enqueueJob } from '../../jobs/telemetry.ts'
import type { TransactionSql } from '../db/client.ts'
import { Uuid } from './schemas.ts'

/** What a route that hands work to a queue answers: 202 with the new resource's id. */
export const Accepted = Type.Object({ id: Uuid, status: Type.Literal('queued') }, { additionalProperties: false })

/**
 * The rest of a 202 route's transaction once its row is written: the audit row, the job with its
 * `queued` telemetry row, and the Idempotency-Key. Run it beside the row's insert (one round trip).
 */
export function acceptQueued(
  fastify: FastifyInstance,
  tx: TransactionSql,
  request: FastifyRequest,
  job: { queue: string; id: string; data: Record<string, unknown>; changes: Record<string, unknown> }
): Promise<unknown> {
  return Promise.all([
    request.audit(tx, { resourceId: job.id, statusCode: 202, changes: job.changes }),
    enqueueJob(fastify.boss, tx, job.queue, job.data, request.id, { id: job.id }),
    request.idempotent(tx, 202, { id: job.id, status: 'queued' })
  ])
}
