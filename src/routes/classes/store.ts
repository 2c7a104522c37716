import { userNameJoin } from '../../accounts/users.ts'
import type { Fragment, Sql, TransactionSql } from '../../db/client.ts'
import { setContext } from '../../db/context.ts'

// The class routes' statements. Each runs in a transaction whose context (src/db/context.ts) names
// the caller: the row-level security policies of migration 0028 decide what it reads and writes,
// whatever a statement's own `where` says.

export interface OrganisationRow {
  id: string
  name: string
  role: 'owner' | 'instructor' | null
  created_at: Date
}

export interface ClassRow {
  id: string
  organisation_id: string
  organisation_name: string
  name: string
  class_role: 'instructor' | 'learner' | null
  organisation_role: 'owner' | 'instructor' | null
  created_at: Date
}

/** The caller manages a class as its instructor or as an owner of its organisation. */
export const manages = (row: ClassRow) => row.class_role === 'instructor' || row.organisation_role === 'owner'

export async function insertOrganisation(
  tx: TransactionSql,
  audit: Fragment,
  org: { id: string; name: string; ownerId: string }
): Promise<OrganisationRow> {
  const [row] = await tx<OrganisationRow[]>`
    with audit_row as (${audit})
    insert into app.organisations (id, name, created_by)
    values (${org.id}, ${org.name}, ${org.ownerId})
    returning id, name, 'owner' as role, created_at
  `
  await tx`
    insert into app.organisation_members (organisation_id, user_id, role)
    values (${org.id}, ${org.ownerId}, 'owner')
  `
  return row
}

export function organisationsCreatedBy(tx: TransactionSql, userId: string) {
  return tx<{ count: number }[]>`
    select count(*)::int as count from app.organisations where created_by = ${userId}
  `
}

/** The organisations the caller belongs to (or to one of whose classes). */
export function listOrganisations(tx: TransactionSql): Promise<OrganisationRow[]> {
  return tx<OrganisationRow[]>`
    select id, name, app.organisation_role(id) as role, created_at
    from app.organisations
    order by created_at, id
    limit 200
  `
}

const classColumns = (tx: TransactionSql) => tx`
  c.id, c.organisation_id, o.name as organisation_name, c.name, c.created_at,
  app.class_role(c.organisation_id, c.id) as class_role,
  app.organisation_role(c.organisation_id) as organisation_role
`

/** A class as the caller sees it, or nothing when the policies hide it. */
export async function classById(tx: TransactionSql, id: string): Promise<ClassRow | undefined> {
  const [row] = await tx<ClassRow[]>`
    select ${classColumns(tx)}
    from app.classes c
    join app.organisations o on o.id = c.organisation_id
    where c.id = ${id}
  `
  return row
}

/** The classes the caller is a member of, or manages. */
export function listClasses(tx: TransactionSql): Promise<ClassRow[]> {
  return tx<ClassRow[]>`
    select ${classColumns(tx)}
    from app.classes c
    join app.organisations o on o.id = c.organisation_id
    where app.class_role(c.organisation_id, c.id) is not null
       or app.organisation_role(c.organisation_id) = 'owner'
    order by c.created_at desc, c.id
    limit 500
  `
}

export async function insertClass(
  tx: TransactionSql,
  audit: Fragment,
  c: { id: string; organisationId: string; name: string; userId: string }
): Promise<void> {
  await tx`
    with audit_row as (${audit})
    insert into app.classes (organisation_id, id, name, created_by)
    values (${c.organisationId}, ${c.id}, ${c.name}, ${c.userId})
  `
  await tx`
    insert into app.class_members (organisation_id, class_id, user_id, role)
    values (${c.organisationId}, ${c.id}, ${c.userId}, 'instructor')
  `
}

export function countClasses(tx: TransactionSql, organisationId: string) {
  return tx<{ count: number }[]>`
    select count(*)::int as count from app.classes where organisation_id = ${organisationId}
  `
}

/** Members of a class, counted whoever asks (a learner sees only their own row): the size limit. */
export function classSize(tx: TransactionSql, organisationId: string, classId: string) {
  return tx<{ count: number }[]>`select app.class_size(${organisationId}, ${classId}) as count`
}

export interface MemberRow {
  user_id: string
  display_name: string
  email: string
  role: 'instructor' | 'learner'
  created_at: Date
}

export function listMembers(tx: TransactionSql, organisationId: string, classId: string): Promise<MemberRow[]> {
  return tx<MemberRow[]>`
    select m.user_id, u.display_name, u.email, m.role, m.created_at
    from app.class_members m
    ${userNameJoin(tx, 'm.user_id')}
    where m.organisation_id = ${organisationId}
      and m.class_id = ${classId}
    order by m.role, u.display_name, m.user_id
  `
}

/** Joins the caller as a learner; the policy admits it only with a valid code or invitation in the context. */
export async function joinAsLearner(
  tx: TransactionSql,
  audit: Fragment,
  m: { organisationId: string; classId: string; userId: string }
): Promise<boolean> {
  const rows = await tx`
    with audit_row as (${audit})
    insert into app.class_members (organisation_id, class_id, user_id, role)
    values (${m.organisationId}, ${m.classId}, ${m.userId}, 'learner')
    on conflict do nothing
    returning user_id
  `
  return rows.length > 0
}

export function removeMember(
  tx: TransactionSql,
  audit: Fragment,
  organisationId: string,
  classId: string,
  userId: string
) {
  return tx`
    with audit_row as (${audit})
    delete from app.class_members
    where organisation_id = ${organisationId}
      and class_id = ${classId}
      and user_id = ${userId}
    returning user_id
  `
}

/** Marks the caller's open invitations to the class accepted. */
export function acceptInvitations(tx: TransactionSql, organisationId: string, classId: string) {
  return tx`
    update app.class_invitations
    set accepted_at = now()
    where organisation_id = ${organisationId}
      and class_id = ${classId}
      and accepted_at is null
      and app.invited(email_normalized)
  `
}

export interface JoinCodeRow {
  id: string
  expires_at: Date
  revoked_at: Date | null
  created_at: Date
}

export async function insertJoinCode(
  tx: TransactionSql,
  audit: Fragment,
  c: { id: string; organisationId: string; classId: string; codeHash: string; expiresAt: Date; userId: string }
): Promise<JoinCodeRow> {
  const [row] = await tx<JoinCodeRow[]>`
    with audit_row as (${audit})
    insert into app.class_join_codes (organisation_id, class_id, id, code_hash, expires_at, created_by)
    values (${c.organisationId}, ${c.classId}, ${c.id}, ${c.codeHash}, ${c.expiresAt}, ${c.userId})
    returning id, expires_at, revoked_at, created_at
  `
  return row
}

export function listJoinCodes(tx: TransactionSql, organisationId: string, classId: string): Promise<JoinCodeRow[]> {
  return tx<JoinCodeRow[]>`
    select id, expires_at, revoked_at, created_at
    from app.class_join_codes
    where organisation_id = ${organisationId}
      and class_id = ${classId}
    order by created_at desc
    limit 100
  `
}

export function revokeJoinCode(
  tx: TransactionSql,
  audit: Fragment,
  organisationId: string,
  classId: string,
  id: string
): Promise<JoinCodeRow[]> {
  return tx<JoinCodeRow[]>`
    with audit_row as (${audit})
    update app.class_join_codes
    set revoked_at = coalesce(revoked_at, now())
    where organisation_id = ${organisationId}
      and class_id = ${classId}
      and id = ${id}
    returning id, expires_at, revoked_at, created_at
  `
}

/** A join code's class (any organisation's), when the code is valid. */
export async function classOfCode(
  tx: TransactionSql,
  code: string
): Promise<{ organisation_id: string; class_id: string } | undefined> {
  const [row] = await tx<{ organisation_id: string; class_id: string }[]>`
    select organisation_id, class_id from app.join_code_class(${code})
  `
  return row
}

export function invitationsToday(tx: TransactionSql, organisationId: string) {
  return tx<{ count: number }[]>`
    select count(*)::int as count
    from app.class_invitations
    where organisation_id = ${organisationId}
      and created_at > now() - interval '1 day'
  `
}

export interface InvitationRow {
  id: string
  class_id: string
  email_normalized: string
  role: 'instructor' | 'learner'
  expires_at: Date
}

export async function insertInvitation(
  tx: TransactionSql,
  audit: Fragment,
  i: { id: string; organisationId: string; classId: string; email: string; expiresAt: Date; userId: string }
): Promise<InvitationRow> {
  const [row] = await tx<InvitationRow[]>`
    with audit_row as (${audit})
    insert into app.class_invitations (organisation_id, class_id, id, email_normalized, expires_at, invited_by)
    values (${i.organisationId}, ${i.classId}, ${i.id}, ${i.email}, ${i.expiresAt}, ${i.userId})
    returning id, class_id, email_normalized, role, expires_at
  `
  return row
}

/** The caller's open invitations, any class's. */
export function myInvitations(tx: TransactionSql): Promise<(InvitationRow & { organisation_id: string })[]> {
  return tx<(InvitationRow & { organisation_id: string })[]>`
    select id, organisation_id, class_id, email_normalized, role, expires_at
    from app.class_invitations
    where app.invited(email_normalized)
      and accepted_at is null
      and revoked_at is null
      and expires_at > now()
    order by created_at desc
    limit 100
  `
}

/** As typed: case, spaces and dashes do not matter. */
export const normalizeCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '')

/** The class a valid join code names (no context needed: a definer function compares its hash). */
export async function classOfJoinCode(
  sql: Sql,
  code: string
): Promise<{ organisation_id: string; class_id: string } | undefined> {
  const [row] = await sql<{ organisation_id: string; class_id: string }[]>`
    select organisation_id, class_id from app.join_code_class(${normalizeCode(code)})
  `
  return row
}

/**
 * A new account that signed up with a join code joins its class, in the sign-up's transaction: the
 * context names the account and carries the code, so the policy admits the row; a full class or a
 * code gone stale since the limit's look-up leaves the account without the class (it joins later).
 */
export async function joinOnSignup(tx: TransactionSql, userId: string, code: string, membersPerClass: number) {
  await setContext(tx, { userId, joinCode: normalizeCode(code) })
  await tx`
    insert into app.class_members (organisation_id, class_id, user_id, role)
    select c.organisation_id, c.class_id, ${userId}, 'learner'
    from app.join_code_class(${normalizeCode(code)}) c
    where app.class_size(c.organisation_id, c.class_id) < ${membersPerClass}
  `
  await setContext(tx, { userId: null })
}
