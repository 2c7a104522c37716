import { Type } from 'typebox'

export const Checks = Type.Object(
  {
    database: Type.Union([Type.Literal('connected'), Type.Literal('unreachable'), Type.Literal('migrations_pending')]),
    queue: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    redis: Type.Optional(Type.Union([Type.Literal('connected'), Type.Literal('degraded')]))
  },
  { additionalProperties: false }
)

export const Ready = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    timestamp: Type.String(),
    reason: Type.Optional(Type.String()),
    checks: Checks
  },
  { additionalProperties: false }
)

export const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    timestamp: Type.String(),
    // The details are left out where the operators said so (HEALTH_DETAILS; off in production).
    version: Type.Optional(Type.String()),
    uptime: Type.Optional(Type.Number()),
    checks: Type.Optional(Checks),
    pool: Type.Optional(
      Type.Union([
        Type.Object({ max: Type.Integer(), open: Type.Integer(), active: Type.Integer(), idle: Type.Integer() }),
        Type.Null()
      ])
    ),
    queues: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          queued: Type.Integer(),
          active: Type.Integer(),
          failed: Type.Integer(),
          total: Type.Integer()
        })
      )
    )
  },
  { additionalProperties: false }
)
