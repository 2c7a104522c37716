import { type Static, Type } from 'typebox'
import { Uuid } from './schemas.ts'

// Organisations and classes as the API carries them (issue 40): routes and the web client alike.

export const OrganisationRole = Type.Union([Type.Literal('owner'), Type.Literal('instructor')])
export const ClassRole = Type.Union([Type.Literal('instructor'), Type.Literal('learner')])
export type ClassRoleName = Static<typeof ClassRole>

export const OrganisationSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    role: Type.Union([OrganisationRole, Type.Null()], {
      description: 'the caller’s role; null for a class member only'
    }),
    createdAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type Organisation = Static<typeof OrganisationSchema>

export const ClassSchema = Type.Object(
  {
    id: Uuid,
    organisationId: Uuid,
    organisationName: Type.String(),
    name: Type.String(),
    role: Type.Union([ClassRole, Type.Null()], {
      description: 'the caller’s role in the class; an organisation owner who is no member manages it as an instructor'
    }),
    manages: Type.Boolean({
      description: 'the caller may manage the class (its instructors, the organisation’s owners)'
    }),
    createdAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type ClassResource = Static<typeof ClassSchema>

export const ClassMemberSchema = Type.Object(
  {
    userId: Uuid,
    displayName: Type.String(),
    email: Type.String(),
    role: ClassRole,
    joinedAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type ClassMember = Static<typeof ClassMemberSchema>

export const JoinCodeSchema = Type.Object(
  {
    id: Uuid,
    code: Type.Optional(Type.String({ description: 'shown once, when it is made' })),
    expiresAt: Type.String({ format: 'date-time' }),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type JoinCode = Static<typeof JoinCodeSchema>

export const InvitationSchema = Type.Object(
  {
    id: Uuid,
    classId: Uuid,
    email: Type.String(),
    role: ClassRole,
    expiresAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type Invitation = Static<typeof InvitationSchema>
