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

/**
 * `work` in a transaction that acts for `context`. The SET LOCAL is issued first and not waited
 * for: `work`'s first statement goes out behind it on the same connection (postgres.js pipelines
 * them, and Postgres runs them in order), so the context costs no round trip of its own.
 */
export function withContext<T>(sql: Sql, context: DbContext, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    const set = setContext(tx, context)
    const [, result] = await Promise.all([set, work(tx)])
    return result
  }) as Promise<T>
}

/**
 * One statement per context over a batch of items, in one transaction: each context's items go
 * together after a SET LOCAL of that context, so a statement acts for exactly one user (and
 * organisation). The statements are issued together and run in order on the transaction's
 * connection (postgres.js pipelines them), so a batch of n users costs one round trip, not 2n.
 * `run` answers with one output per item given, in order; the outputs come back in `items`' order.
 */
export function perContext<I, O>(
  sql: Sql,
  items: I[],
  contextOf: (item: I) => DbContext,
  run: (tx: TransactionSql, items: I[]) => Promise<O[]>
): Promise<O[]> {
  const groups = new Map<string, { context: DbContext; at: number[] }>()
  for (const [i, item] of items.entries()) {
    const context = contextOf(item)
    const key = `${context.userId ?? ''}/${context.organisationId ?? ''}`
    const group = groups.get(key) ?? { context, at: [] }
    group.at.push(i)
    groups.set(key, group)
  }
  return sql.begin(async (tx) => {
    // Created in order (each async call issues its statement before its first await): the
    // connection runs them in that order, each owner's statement after its own SET LOCAL.
    const issued: Promise<unknown>[] = []
    const answers: Promise<O[]>[] = []
    for (const { context, at } of groups.values()) {
      issued.push(setContext(tx, context))
      const answer = run(
        tx,
        at.map((i) => items[i])
      )
      issued.push(answer)
      answers.push(answer)
    }
    await Promise.all(issued)
    const outputs = new Array<O>(items.length)
    const groupList = [...groups.values()]
    for (const [g, answer] of answers.entries()) {
      const outs = await answer
      for (const [k, i] of groupList[g].at.entries()) outputs[i] = outs[k]
    }
    return outputs
  }) as Promise<O[]>
}
