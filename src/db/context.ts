import type { Sql, TransactionSql } from './client.ts'

/**
 * Who a transaction acts for, as the row-level security policies read it (sql/migrations/0028):
 * the user, and optionally the one organisation it is narrowed to. A join code travels the same
 * way, for the policy that lets a learner join a class with it.
 */
export interface DbContext {
  userId: string | null
  organisationId?: string | null
  joinCode?: string | null
}

/**
 * Sets the context for the rest of `tx` only (set_config's `is_local`, SET LOCAL): it ends with
 * the transaction, so a pooled connection never hands it to the next one. The one place the api,
 * the workers and the CLI set it.
 */
export async function setContext(tx: TransactionSql, context: DbContext): Promise<void> {
  await tx`
    select set_config('sdc.user_id', ${context.userId ?? ''}, true),
           set_config('sdc.organisation_id', ${context.organisationId ?? ''}, true),
           set_config('sdc.join_code', ${context.joinCode ?? ''}, true)
  `
}

/** `work` in a transaction that acts for `context`. */
export function withContext<T>(sql: Sql, context: DbContext, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await setContext(tx, context)
    return work(tx)
  }) as Promise<T>
}
