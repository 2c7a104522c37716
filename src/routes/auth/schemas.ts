import { Type } from 'typebox'

export const Email = Type.String({ title: 'Email', format: 'email', minLength: 3, maxLength: 254 })
export const Password = Type.String({ title: 'Password', minLength: 12, maxLength: 256 })

import { UserSchema as User } from '../../domain/resources.ts'

export { User }

export const TokenPair = Type.Object(
  {
    accessToken: Type.String(),
    refreshToken: Type.Optional(
      Type.String({
        description:
          'absent when the request asked for the cookie (`X-Refresh-Cookie: 1`): the token is then only in an HttpOnly cookie'
      })
    ),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer(),
    refreshExpiresAt: Type.String({ format: 'date-time' }),
    user: User
  },
  { additionalProperties: false }
)

export interface UserRow {
  id: string
  email: string
  display_name: string
  role: 'user' | 'admin'
  email_verified_at: Date | null
  created_at: Date
  token_version?: number
}

export function toUser(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    emailVerified: row.email_verified_at !== null,
    createdAt: row.created_at.toISOString()
  }
}
