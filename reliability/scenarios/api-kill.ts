// The api SIGKILLed again and again while clients stream mutations that carry Idempotency-Keys
// and retry until acknowledged: every key's change exists once, exactly when its audit row does.

import { verifyAuditChain } from '../../src/audit/chain.ts'
import { pgArray } from '../../src/db/client.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { call, loop, Tally } from '../../test/helpers/http.ts'
import {
  type Api,
  type Context,
  checkSql,
  expect,
  freePort,
  type Result,
  readAllSql,
  startApi,
  stopProcess,
  userOn
} from '../../test/helpers/stack.ts'

export async function apiKill(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const kills = long ? 12 : 4
  const url = await ctx.createDatabase()
  const port = await freePort()
  const env = { DATABASE_URL: url, API_PORT: String(port) }
  let api: Api = await startApi(env)
  // Read-only checks of tables under row-level security: the backup login reads them all.
  const sql = readAllSql(url)
  const violations: string[] = []
  try {
    const auth = await userOn(port, 'api-kill@example.com')
    const tally = new Tally()
    const acknowledged = new Set<string>()
    const keys: string[] = []
    let stopping = false
    let next = 0

    // Each client sends a new key, and retries the same key until it is acknowledged.
    const clients = loop(
      8,
      () => stopping,
      async (client) => {
        const key = `k-${client}-${next++}`
        keys.push(key)
        for (;;) {
          const res = tally.add(
            await call(port, {
              method: 'POST',
              path: '/workspaces',
              headers: { ...auth, 'idempotency-key': key },
              body: { name: key, design: SAMPLE_DESIGN },
              timeoutMs: 10_000
            })
          )
          if (res.status === 201) {
            acknowledged.add(key)
            return
          }
          if (res.status && res.status < 500 && res.status !== 409) return
          await new Promise((r) => setTimeout(r, 50))
        }
      }
    )

    let restarts = 0
    for (let i = 0; i < kills; i++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500))
      api.child.kill('SIGKILL')
      await api.exited
      api = await startApi(env)
      restarts++
    }
    await new Promise((r) => setTimeout(r, 500))
    stopping = true
    await clients

    ctx.log(`  ${acknowledged.size} keys acknowledged; checking the database`)
    const rows = await sql<{ key: string; changes: number; audits: number; remembered: number }[]>`
      with sent as (select unnest(${pgArray(keys)}::text[]) as key),
           changed as (select w.name as key, count(*)::int as n, min(w.id::text) as id
                       from app.workspaces w join sent on sent.key = w.name group by w.name),
           audited as (select a.resource_id, count(*)::int as n
                       from app.audit_log a
                       where a.action = 'workspace.create' and a.outcome = 'success'
                       group by a.resource_id)
      select sent.key,
             coalesce(changed.n, 0) as changes,
             coalesce(audited.n, 0) as audits,
             (select count(*)::int from app.idempotency_keys i where i.key = sent.key) as remembered
      from sent
      left join changed on changed.key = sent.key
      left join audited on audited.resource_id = changed.id
    `
    const [{ orphanAudits }] = await sql<{ orphanAudits: number }[]>`
      select count(*)::int as "orphanAudits"
      from app.audit_log a
      where a.action = 'workspace.create' and a.outcome = 'success'
        and not exists (select 1 from app.workspaces w where w.id::text = a.resource_id)
    `
    const [{ replayed }] = await sql<{ replayed: number }[]>`
      select count(*)::int as replayed from app.audit_log where action = 'workspace.create' and outcome = 'replayed'
    `
    await stopProcess(api)
    // Verifying seals what is pending (an update): as the owner, as the scenario did before.
    const owner = checkSql(url)
    const chain = await verifyAuditChain(owner).finally(() => owner.end({ timeout: 1 }))
    const figures = {
      ...tally.figures(),
      kills,
      restarts,
      keys: keys.length,
      acknowledged: acknowledged.size,
      replayedAfterCrash: replayed,
      mutationsWithoutAudit: rows.filter((r) => r.changes > 0 && r.audits === 0).length,
      auditsWithoutMutation: orphanAudits,
      duplicatedChanges: rows.filter((r) => r.changes > 1).length,
      acknowledgedButLost: rows.filter((r) => acknowledged.has(r.key) && r.changes === 0).length,
      changesWithoutKey: rows.filter((r) => r.changes > 0 && r.remembered === 0).length,
      auditChainVerified: chain.ok ? chain.rows : `broken at ${chain.brokenId}`
    }
    expect(violations, figures.mutationsWithoutAudit === 0, `${figures.mutationsWithoutAudit} changes without audit`)
    expect(violations, orphanAudits === 0, `${orphanAudits} audit rows without their change`)
    expect(violations, figures.duplicatedChanges === 0, `${figures.duplicatedChanges} keys changed twice`)
    expect(violations, figures.acknowledgedButLost === 0, `${figures.acknowledgedButLost} acknowledged changes lost`)
    expect(violations, figures.changesWithoutKey === 0, `${figures.changesWithoutKey} changes without their key`)
    expect(violations, figures.other5xx === 0, `${figures.other5xx} 5xx other than 503`)
    expect(violations, tally.leakyBodies === 0, `${tally.leakyBodies} 5xx bodies leaked internals`)
    expect(violations, chain.ok, 'the audit chain does not verify')
    expect(violations, acknowledged.size > kills, 'too few mutations went through to prove anything')
    return { figures, violations }
  } finally {
    api.child.kill('SIGKILL')
    await sql.end({ timeout: 1 })
  }
}
