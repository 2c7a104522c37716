import { Type } from 'typebox'
import { ProblemSchema } from '../../domain/schemas.ts'

// The design, the profile and the workspace are the domain's shapes (src/domain/schemas.ts,
// resources.ts); the semantic checks (ids, links, cycles, bounds) answer 422 with every problem.
export {
  TrafficProfileResourceSchema as TrafficProfileResponse,
  WorkspaceSchema as Workspace,
  WorkspaceSummarySchema as WorkspaceSummary
} from '../../domain/resources.ts'
export {
  ComponentSchema,
  DesignChangeSchema,
  DesignSchema,
  LinkSchema,
  TrafficProfileSchema
} from '../../domain/schemas.ts'

export const Name = Type.String({ title: 'Name', minLength: 1, maxLength: 120, pattern: '\\S' })
export const Description = Type.String({ title: 'Description', maxLength: 2000 })

export const InvalidDesign = Type.Object(
  {
    statusCode: Type.Literal(422),
    code: Type.Literal('APP_ERR_INVALID_DESIGN'),
    error: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
    problems: Type.Array(ProblemSchema)
  },
  { additionalProperties: false }
)

/** A row version as the client sends it back: a Postgres integer (larger is a 400, not a 500). */
export const Version = Type.Integer({ title: 'Version', minimum: 1, maximum: 2147483647 })

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
