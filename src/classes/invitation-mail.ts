import type { Sql } from '../db/client.ts'
import { withContext } from '../db/context.ts'

// What the email job reads to mail a class invitation (issue 40): the invitation and its class,
// read as the instructor who invited, in the invitation's organisation (row-level security: a
// job for another organisation, or an inviter no longer of the class, reads nothing).

export interface InvitationMail {
  email: string
  className: string
  organisationName: string
  expiresAt: Date
  open: boolean
}

export async function invitationToMail(
  sql: Sql,
  context: { userId: string; organisationId: string },
  invitationId: string
): Promise<InvitationMail | undefined> {
  const [row] = await withContext(
    sql,
    context,
    (tx) => tx<InvitationMail[]>`
      select i.email_normalized as email, c.name as "className", o.name as "organisationName",
             i.expires_at as "expiresAt",
             i.accepted_at is null and i.revoked_at is null and i.expires_at > now() as open
      from app.class_invitations i
      join app.classes c on c.organisation_id = i.organisation_id and c.id = i.class_id
      join app.organisations o on o.id = i.organisation_id
      where i.organisation_id = ${context.organisationId}
        and i.id = ${invitationId}
    `
  )
  return row
}
