import { Type } from 'typebox'
import { Email, Password, User } from '../auth/schemas.ts'
import { Export } from '../exports/schemas.ts'
import { Grade, Simulation } from '../simulations/schemas.ts'
import { TrafficProfileResponse, Workspace } from '../workspaces/schemas.ts'

/** The same answer whatever the email: it says nothing about whether an account exists. */
export const Accepted = Type.Object({ status: Type.Literal('accepted') }, { additionalProperties: false })

export const ResetRequest = Type.Object({ email: Email }, { additionalProperties: false })

export const ResetConfirm = Type.Object(
  {
    token: Type.String({ minLength: 20, maxLength: 200, description: 'from the emailed link' }),
    newPassword: Password
  },
  { additionalProperties: false }
)

export const DeleteAccount = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 256, description: 'the current password, again' }) },
  { additionalProperties: false }
)

export const ARCHIVE_FORMAT = 'system-design-coach/account-export/v1'

// What is worked out when a run or grade is read (whether it is stale, how its predictions
// scored) is not kept, so not archived: the archive holds the predictions as they were made.
const { stale: _stale, staleBecause: _staleBecause, predictions: _scored, ...runProperties } = Simulation.properties
const {
  stale: _gradeStale,
  staleBecause: _gradeStaleBecause,
  estimation: _estimation,
  ...gradeProperties
} = Grade.properties

/** What `GET /account/export` downloads: everything the service keeps of the learner's own. */
export const AccountArchive = Type.Object(
  {
    format: Type.Literal(ARCHIVE_FORMAT),
    exportedAt: Type.String({ format: 'date-time' }),
    profile: User,
    workspaces: Type.Array(
      Type.Object(
        { ...Workspace.properties, trafficProfile: Type.Union([TrafficProfileResponse, Type.Null()]) },
        { additionalProperties: false }
      )
    ),
    runs: Type.Array(
      Type.Object(
        {
          ...runProperties,
          design: Type.Unknown({ description: 'the design as it was run' }),
          traffic: Type.Unknown({ description: 'the traffic profile as it was run' }),
          predictions: Type.Unknown({ description: 'the predictions made before it ran, as made; null without' }),
          grades: Type.Array(Type.Object(gradeProperties, { additionalProperties: false }))
        },
        { additionalProperties: false }
      )
    ),
    exports: Type.Array(Export, { description: 'the reports made, without their content' })
  },
  { additionalProperties: false }
)
