import { Type } from 'typebox'
import { DEFAULT_BANDWIDTH_MBPS, LIMITS } from '../../domain/model.ts'
import { Uuid } from '../../schemas.ts'

// Shape and bounds only; the semantic checks (ids, links, cycles) answer 422 with every problem.
export const ComponentSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: LIMITS.idLength }),
    type: Type.String({ maxLength: 40 }),
    name: Type.Optional(Type.String({ maxLength: LIMITS.nameLength })),
    instances: Type.Optional(Type.Number({ description: 'required of every component but a client' })),
    concurrency: Type.Optional(Type.Number({ description: 'required of every component but a client' })),
    serviceTimeMs: Type.Optional(Type.Number({ description: 'required of every component but a client' })),
    hitRatio: Type.Optional(Type.Number()),
    replicas: Type.Optional(Type.Number()),
    routing: Type.Optional(
      Type.String({
        maxLength: 10,
        description:
          'split (each request takes exactly one outgoing link, by share; shares sum to 1) or calls (each link taken on its own with probability share). Default: split for a load_balancer, calls otherwise.'
      })
    ),
    balancing: Type.Optional(
      Type.String({
        maxLength: 10,
        description:
          'pooled (default: one queue for all instances, least-outstanding balancing) or random (a queue per instance, arrivals spread at random)'
      })
    ),
    serviceTimeCv: Type.Optional(
      Type.Number({
        description: `coefficient of variation of the service time, 0 to ${LIMITS.serviceTimeCv}: 1 (default) exponential, 0 constant, above 1 heavier tails`
      })
    ),
    queueLimit: Type.Optional(
      Type.Number({
        description: `requests that may wait (not in service) at once, across instances, 0 to ${LIMITS.queueLimit}; past it arrivals are lost. Default: unbounded`
      })
    ),
    delay: Type.Optional(
      Type.Boolean({
        description:
          'a pure delay (M/G/∞: each request spends the service time, nothing queues), for external APIs and object stores; default false'
      })
    ),
    x: Type.Optional(
      Type.Number({ description: `where the web app draws it, ±${LIMITS.canvas}; the engine ignores it` })
    ),
    y: Type.Optional(
      Type.Number({ description: `where the web app draws it, ±${LIMITS.canvas}; the engine ignores it` })
    )
  },
  { additionalProperties: false }
)

export const LinkSchema = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: LIMITS.idLength }),
    to: Type.String({ minLength: 1, maxLength: LIMITS.idLength }),
    share: Type.Optional(
      Type.Number({ description: 'fraction of the requests of `from` taken down this link; default 1' })
    ),
    traffic: Type.Optional(Type.String({ maxLength: 10 })),
    latencyMs: Type.Optional(
      Type.Number({ description: `network time of one traversal, 0 to ${LIMITS.linkLatencyMs} ms; default none` })
    ),
    timeoutMs: Type.Optional(
      Type.Number({
        description: `an attempt times out when what happens below the link takes longer (0 < timeoutMs ≤ ${LIMITS.timeoutMs}); the timed-out attempt keeps its stations busy and is retried at once`
      })
    ),
    retries: Type.Optional(
      Type.Number({ description: `retries after a timeout, 0 to ${LIMITS.retries} (default 0); needs timeoutMs` })
    ),
    bandwidthMbps: Type.Optional(
      Type.Number({
        description: `a traversal adds payloadKb at this rate (default ${DEFAULT_BANDWIDTH_MBPS} when latencyMs is set); a link with neither field adds no network time`
      })
    )
  },
  { additionalProperties: false }
)

export const DesignSchema = Type.Object(
  {
    components: Type.Array(ComponentSchema, { maxItems: LIMITS.components }),
    links: Type.Array(LinkSchema, { maxItems: LIMITS.links })
  },
  { additionalProperties: false }
)

export const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })
export const Description = Type.String({ maxLength: 2000 })

export const Workspace = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    design: DesignSchema,
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)

export const WorkspaceSummary = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    version: Type.Integer(),
    components: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)

/** The least peak rate and SLO a profile takes (the web form's too): below it, per-request figures overflow. */
const MIN_PROFILE_VALUE = 0.001

export const TrafficProfileSchema = Type.Object(
  {
    peakRps: Type.Number({
      minimum: MIN_PROFILE_VALUE,
      maximum: LIMITS.peakRps,
      description: 'at least 0.001: one request in about 17 minutes'
    }),
    readRatio: Type.Number({ minimum: 0, maximum: 1 }),
    payloadKb: Type.Number({ minimum: 0, maximum: 1_048_576 }),
    latencySloMs: Type.Number({ minimum: MIN_PROFILE_VALUE, maximum: 3_600_000 }),
    budgetPerMonth: Type.Optional(
      Type.Union([Type.Number({ minimum: 0, maximum: 1e9 }), Type.Null()], {
        description: 'a monthly budget in USD the grade holds the design’s cost to; null or absent: none'
      })
    ),
    availabilityTarget: Type.Optional(
      Type.Union([Type.Number({ minimum: 0.9, maximum: 0.999999 }), Type.Null()], {
        description: 'the availability the grade holds the design to, as a fraction; null or absent: 0.999'
      })
    )
  },
  { additionalProperties: false }
)

export const TrafficProfileResponse = Type.Object(
  {
    workspaceId: Uuid,
    ...TrafficProfileSchema.properties,
    version: Type.Integer(),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)

export const InvalidDesign = Type.Object(
  {
    statusCode: Type.Literal(422),
    code: Type.Literal('APP_ERR_INVALID_DESIGN'),
    error: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
    problems: Type.Array(Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false }))
  },
  { additionalProperties: false }
)

/** A row version as the client sends it back: a Postgres integer (larger is a 400, not a 500). */
export const Version = Type.Integer({ minimum: 1, maximum: 2147483647 })

export const VersionConflict = Type.Object(
  {
    statusCode: Type.Literal(409),
    code: Type.Literal('APP_ERR_VERSION_CONFLICT'),
    error: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
    currentVersion: Type.Integer()
  },
  { additionalProperties: false }
)
