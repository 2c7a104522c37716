import { Type } from 'typebox'
import { Uuid } from '../../schemas.ts'

export const AuditEntry = Type.Object(
  {
    id: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    requestId: Type.Union([Type.String(), Type.Null()]),
    userId: Type.Union([Type.String(), Type.Null()]),
    action: Type.String(),
    resourceType: Type.Union([Type.String(), Type.Null()]),
    resourceId: Type.Union([Type.String(), Type.Null()]),
    method: Type.Union([Type.String(), Type.Null()]),
    path: Type.Union([Type.String(), Type.Null()]),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    outcome: Type.String(),
    changes: Type.Unknown(),
    ipAddress: Type.Union([Type.String(), Type.Null()]),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    /** Null for the second or so before the sealer links the row into the chain. */
    hash: Type.Union([Type.String(), Type.Null()])
  },
  { additionalProperties: false }
)

export const AuditQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    userId: Type.Optional(Uuid),
    resourceType: Type.Optional(Type.String({ maxLength: 100 }))
  },
  { additionalProperties: false }
)

export const RouteSummary = Type.Object(
  {
    method: Type.String(),
    route: Type.Union([Type.String(), Type.Null()]),
    count: Type.Integer(),
    errorRate: Type.Number(),
    p50Ms: Type.Number(),
    p95Ms: Type.Number(),
    p99Ms: Type.Number()
  },
  { additionalProperties: false }
)

export const Job = Type.Object(
  {
    id: Uuid,
    queue: Type.String(),
    state: Type.String(),
    retryCount: Type.Integer(),
    retryLimit: Type.Integer(),
    createdOn: Type.String(),
    startedOn: Type.Union([Type.String(), Type.Null()]),
    completedOn: Type.Union([Type.String(), Type.Null()]),
    output: Type.Unknown()
  },
  { additionalProperties: false }
)
