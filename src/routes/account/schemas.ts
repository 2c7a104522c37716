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
          ...Simulation.properties,
          design: Type.Unknown({ description: 'the design as it was run' }),
          traffic: Type.Unknown({ description: 'the traffic profile as it was run' }),
          grades: Type.Array(Grade)
        },
        { additionalProperties: false }
      )
    ),
    exports: Type.Array(Export, { description: 'the reports made, without their content' })
  },
  { additionalProperties: false }
)
