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

// Assignments: an exercise given to a class, and what its instructor sees of it.
export const AssignmentStatus = Type.Union([
  Type.Literal('not_started'),
  Type.Literal('started'),
  Type.Literal('submitted'),
  Type.Literal('late')
])
export const AssignmentSchema = Type.Object(
  {
    id: Uuid,
    classId: Uuid,
    exerciseSlug: Type.String(),
    title: Type.String(),
    opensAt: Type.String({ format: 'date-time' }),
    dueAt: Type.String({ format: 'date-time' }),
    hintsAllowed: Type.Boolean(),
    scale: Type.Number(),
    requirements: Type.Object({}, { additionalProperties: true }),
    status: AssignmentStatus,
    workspaceId: Type.Union([Uuid, Type.Null()]),
    bestScore: Type.Union([Type.Number(), Type.Null()])
  },
  { additionalProperties: false }
)
export const LearnerResultSchema = Type.Object(
  {
    userId: Uuid,
    displayName: Type.String(),
    email: Type.String(),
    workspaceId: Type.Union([Uuid, Type.Null()]),
    status: AssignmentStatus,
    score: Type.Union([Type.Number(), Type.Null()]),
    passed: Type.Boolean({ description: 'the latest submission passed every check' }),
    failedChecks: Type.Array(Type.String()),
    bottleneck: Type.Union([Type.String(), Type.Null()])
  },
  { additionalProperties: false }
)
export const AssignmentResultsSchema = Type.Object(
  {
    assignment: AssignmentSchema,
    learners: Type.Integer(),
    started: Type.Integer(),
    submitted: Type.Integer(),
    passed: Type.Integer(),
    late: Type.Integer(),
    scores: Type.Object({
      mean: Type.Union([Type.Number(), Type.Null()]),
      median: Type.Union([Type.Number(), Type.Null()]),
      distribution: Type.Array(Type.Object({ from: Type.Integer(), to: Type.Integer(), count: Type.Integer() }))
    }),
    mostFailedChecks: Type.Array(Type.Object({ id: Type.String(), title: Type.String(), failed: Type.Integer() })),
    typicalBottleneck: Type.Union([Type.Object({ component: Type.String(), learners: Type.Integer() }), Type.Null()]),
    items: Type.Array(LearnerResultSchema)
  },
  { additionalProperties: false }
)

export type Assignment = Static<typeof AssignmentSchema>
export type AssignmentResults = Static<typeof AssignmentResultsSchema>
