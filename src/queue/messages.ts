import { type Static, type TProperties, type TSchema, Type } from 'typebox'
import { Value } from 'typebox/value'
import type { DbContext } from '../db/context.ts'
import { Uuid } from '../schemas.ts'

// What each queue carries, declared once: the api sends with these (src/queue/enqueue.ts checks a
// payload before it is sent, and tsc refuses one of the wrong shape), and each queue's handler
// file in jobs/ works its queue with the same schema (jobs/define.ts checks it again: old jobs
// outlive code).

/** A queue's name and its payload's schema. */
export interface JobMessage<S extends TSchema = TSchema> {
  readonly name: string
  readonly payload: S
}

/** The data a job of this queue carries, as the sender writes it. */
export type JobData<M extends JobMessage> = Static<M['payload']>

export const jobMessage = <S extends TSchema>(name: string, payload: S): JobMessage<S> => ({ name, payload })

/** A job's data: its own fields, the id of the request that enqueued it and its W3C trace context. */
export function jobPayload<P extends TProperties>(properties: P) {
  return Type.Object({
    ...properties,
    requestId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    traceparent: Type.Optional(Type.String({ maxLength: 55 })),
    tracestate: Type.Optional(Type.String({ maxLength: 512 }))
  })
}

/** Where data fails its queue's schema, as `payload.runId must be a uuid`; null when it fits. */
export function payloadMismatch(message: JobMessage, data: unknown): string | null {
  if (Value.Check(message.payload, data)) return null
  const [first] = Value.Errors(message.payload, data)
  if (!first) return 'payload does not match its schema'
  const at = `payload${first.instancePath.replaceAll('/', '.')}`
  if (first.keyword === 'format') return `${at} must be a ${String(first.params.format)}`
  return `${at} ${first.message}`
}

/**
 * Whom a job acts for: the worker sets it with SET LOCAL in the job's transaction (src/db/context.ts),
 * and the row-level security policies hold the job to that user's rows (and organisation's, if set).
 */
const actingFor = {
  ownerId: Uuid,
  organisationId: Type.Optional(Type.Union([Uuid, Type.Null()]))
}

/** The database context a job of a user acts in (src/db/context.ts). */
export const jobContext = (data: { ownerId: string; organisationId?: string | null }): DbContext => ({
  userId: data.ownerId,
  organisationId: data.organisationId ?? null
})

/** A run to simulate (its design and traffic are the run row's snapshot). */
export const SimulationJob = jobMessage('simulation', jobPayload({ runId: Uuid, ...actingFor }))

/** A grade to compute from its run. */
export const GradingJob = jobMessage('grading', jobPayload({ gradeId: Uuid, ...actingFor }))

/** A report to render. */
export const ExportJob = jobMessage('export', jobPayload({ exportId: Uuid, ...actingFor }))

/**
 * A mail: to an account's own address (read when it is sent, a job holds only the id), or a class
 * invitation to the address invited, read as the instructor who invited, in its organisation.
 */
export const EmailJob = jobMessage(
  'email',
  Type.Union([
    jobPayload({
      kind: Type.Union([
        Type.Literal('verify'),
        Type.Literal('password-reset'),
        Type.Literal('signup-taken'),
        // A challenged login with the right password (src/routes/auth): a one-time sign-in link.
        Type.Literal('login-link')
      ]),
      // A reset asked for an address with no account is a job too (the route's work must not tell): null.
      userId: Type.Union([Uuid, Type.Null()])
    }),
    jobPayload({
      kind: Type.Literal('class-invitation'),
      invitationId: Uuid,
      ownerId: Uuid,
      organisationId: Uuid
    })
  ])
)

/** Housekeeping on the worker's schedule, or an operator's probe of the worker loop (RUNBOOK). */
export const MaintenanceJob = jobMessage(
  'maintenance',
  Type.Union([
    jobPayload({ task: Type.Literal('housekeeping') }),
    jobPayload({ task: Type.Literal('probe'), holdMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })) })
  ])
)
