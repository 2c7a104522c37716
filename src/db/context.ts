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
export function setContext(tx: TransactionSql, context: DbContext): Promise<unknown> {
  // execute(): queued on the connection now, ahead of any statement made after this call (an
  // awaited query is queued a microtask later, behind one made and awaited in the meantime).
  return tx`
    select set_config('sdc.user_id', ${context.userId ?? ''}, true),
           set_config('sdc.organisation_id', ${context.organisationId ?? ''}, true),
           set_config('sdc.join_code', ${context.joinCode ?? ''}, true)
  `.execute()
}

/**
 * `work` in a transaction that acts for `context`. The SET LOCAL is sent first and not waited
 * for: `work`'s first statement follows it on the same connection in the same write (postgres.js
 * pipelines a transaction's statements, and answers them in order), so acting for someone costs
 * no round trip of its own. Should the SET LOCAL fail, the transaction fails with it.
 */
export function withContext<T>(sql: Sql, context: DbContext, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin((tx) => {
    const set = setContext(tx, context)
    return Promise.all([set, work(tx)]).then(([, out]) => out)
  }) as Promise<T>
}

/**
 * One statement per context over a batch of items, in one transaction: each context's items go
 * together after a SET LOCAL of that context, so a statement acts for exactly one user (and
 * organisation). The contexts take turns, each statement awaited before the next SET LOCAL.
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
    const outputs = new Array<O>(items.length)
    for (const { context, at } of groups.values()) {
      await setContext(tx, context)
      const outs = await run(
        tx,
        at.map((i) => items[i])
      )
      for (const [k, i] of at.entries()) outputs[i] = outs[k]
    }
    return outputs
  }) as Promise<O[]>
}
