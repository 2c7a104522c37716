import { Type } from 'typebox'
import type { UserRow } from '../../accounts/users.ts'

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

export type { UserRow }

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
