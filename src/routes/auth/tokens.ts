import type { Sql, TransactionSql } from '../../db/client.ts'

// Refresh tokens: stored only as their hash, one family per login, single use, rotated on every
// refresh; a rotated token that comes back revokes its whole family (someone holds a copy).

export async function insertRefreshToken(
  tx: TransactionSql,
  t: { userId: string; familyId: string; tokenHash: string; familyExpiresAt: Date; createdAt: Date }
): Promise<void> {
  await tx`
    insert into app.refresh_tokens ${tx({
      user_id: t.userId,
      family_id: t.familyId,
      token_hash: t.tokenHash,
      family_expires_at: t.familyExpiresAt,
      created_at: t.createdAt
    })}
  `
}

/** Marks the token used, atomically: of N concurrent refreshes of one token exactly one gets the row. */
export async function useRefreshToken(tx: TransactionSql, tokenHash: string, now: Date) {
  const [used] = await tx<{ user_id: string; family_id: string; family_expires_at: Date }[]>`
    update app.refresh_tokens
    set used_at = ${now}
    where token_hash = ${tokenHash}
      and used_at is null
      and revoked_at is null
      and family_expires_at > ${now}
    returning user_id, family_id, family_expires_at
  `
  return used
}

export async function refreshTokenByHash(tx: TransactionSql, tokenHash: string) {
  const [known] = await tx<{ user_id: string; family_id: string; used_at: Date | null }[]>`
    select user_id, family_id, used_at
    from app.refresh_tokens
    where token_hash = ${tokenHash}
  `
  return known
}

/** Revokes every live token of a family; returns how many it ended. */
export async function revokeFamily(tx: TransactionSql, familyId: string, now: Date): Promise<number> {
  const revoked = await tx`
    update app.refresh_tokens
    set revoked_at = ${now}
    where family_id = ${familyId}
      and revoked_at is null
    returning id
  `
  return revoked.length
}

/** Revokes every live token of a user; returns how many it ended. */
export async function revokeAllOf(tx: TransactionSql | Sql, userId: string, now: Date): Promise<number> {
  const revoked =
    await tx`update app.refresh_tokens set revoked_at = ${now} where user_id = ${userId} and revoked_at is null returning id`
  return revoked.length
}
