// The abuse shapes of the security review, against real api and worker processes over real
// sockets: a flood of preview bombs while the health probes are timed, an anonymous flood of an
// audited route while the audit log is counted, and one user flooding runs that reach the deadline
// while another user's run is timed.

import { call, loop } from '../../test/helpers/http.ts'
import { heavyFanOut, timeoutBomb } from '../../test/helpers/pathological.ts'
import {
  type Context,
  enqueueSimulations,
  expect,
  type Result,
  readAllSql,
  startApi,
  startWorker,
  stopProcess,
  userOn,
  workspaceOn
} from '../../test/helpers/stack.ts'

/**
 * What a probe may take while the api is flooded: 300 ms in the full run; 1 s in the short run
 * inside the test suite, beside other test files on a shared box (the liveness probe allows 2 s).
 */
const PROBE_BOUND_MS = { long: 300, short: 1000 }
/** The fairness phase's run deadline and engine threads: the bound is 2 ⌈k / p⌉ deadlines (docs/security.md). */
const DEADLINE_MS = 1000
const THREADS = 2

export async function abuse(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const url = await ctx.createDatabase()
  const api = await startApi({ DATABASE_URL: url })
  const worker = await startWorker(
    { DATABASE_URL: url, SIMULATION_TIMEOUT_MS: String(DEADLINE_MS), WORKER_ENGINE_THREADS: String(THREADS) },
    ['--queues', 'simulation']
  )
  // Read-only checks of tables under row-level security: the backup login reads them all.
  const sql = readAllSql(url)
  const violations: string[] = []
  try {
    const auth = await userOn(api.port, 'abuse@example.com')
    const workspaceId = await workspaceOn(api.port, auth)
    const previewPath = `/workspaces/${workspaceId}/preview`

    // 1. Preview bombs: refused at validation (the bomb and its variants) or at the preview's own
    // budget (a valid design past it), never computed on the event loop. The probes stay fast.
    const designs = [
      timeoutBomb(16),
      timeoutBomb(30, { width: 3 }),
      timeoutBomb(12, { share: 1e-300 }),
      timeoutBomb(5, { timeoutLinks: 20, retries: 10 }),
      heavyFanOut()
    ]
    const statuses: Record<string, number> = {}
    const probeMs: number[] = []
    let flooding = true
    const probes = (async () => {
      while (flooding) {
        for (const path of ['/health/live', '/health/ready']) {
          const probe = await call(api.port, { path, timeoutMs: 5000 })
          probeMs.push(probe.ms)
          expect(
            violations,
            probe.status === 200,
            `${path} answered ${probe.status ?? probe.error} during the preview flood`
          )
          expect(
            violations,
            !(probe.body ?? '').includes('unreachable'),
            `${path} called a healthy database unreachable`
          )
        }
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    const previews = long ? 55 : 30
    let sent = 0
    await loop(
      10,
      () => sent >= previews,
      async () => {
        const design = designs[sent++ % designs.length]
        const res = await call(api.port, { method: 'POST', path: previewPath, headers: auth, body: { design } })
        const key = String(res.status ?? res.error)
        statuses[key] = (statuses[key] ?? 0) + 1
        expect(
          violations,
          res.status === 422 || res.status === 503,
          `a preview bomb answered ${res.status ?? res.error}: ${(res.body ?? '').slice(0, 120)}`
        )
      }
    )
    flooding = false
    await probes
    const slowest = Math.max(...probeMs)
    const probeBound = PROBE_BOUND_MS[ctx.mode]
    expect(
      violations,
      slowest < probeBound,
      `the slowest probe took ${Math.round(slowest)} ms (bound ${probeBound} ms)`
    )

    // 2. An anonymous flood of an audited route: refusals are counted, not written one row each.
    const [{ before }] = await sql<{ before: number }[]>`select count(*)::int as before from app.audit_log`
    const anonymous = long ? 5000 : 2000
    let refused = 0
    await loop(
      20,
      () => refused >= anonymous,
      async () => {
        refused++
        await call(api.port, { method: 'POST', path: '/workspaces', body: { name: 'x', design: {} } })
      }
    )
    const [{ after }] = await sql<{ after: number }[]>`select count(*)::int as after from app.audit_log`
    expect(
      violations,
      after - before <= 10,
      `${anonymous} anonymous refusals wrote ${after - before} audit rows (bounded: at most 10)`
    )

    // 3. One user floods runs that reach the deadline; another user's run is not held behind them.
    const flooder = await userOn(api.port, 'flooder@example.com')
    const slowWorkspace = await call(api.port, {
      method: 'POST',
      path: '/workspaces',
      headers: flooder,
      body: { name: 'slow', design: heavyFanOut() }
    })
    const flood = await enqueueSimulations(
      () => api.port,
      flooder,
      JSON.parse(slowWorkspace.body as string).id,
      long ? 20 : 10
    )
    const started = Date.now()
    const [mine] = await enqueueSimulations(() => api.port, auth, workspaceId, 1)
    let timeToResultMs = Number.NaN
    while (Date.now() - started < 30_000) {
      const [run] = await sql<{ status: string }[]>`select status from app.simulation_runs where id = ${mine}`
      if (run.status === 'completed' || run.status === 'failed') {
        timeToResultMs = Date.now() - started
        break
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    // Two users active on two threads: ⌈2 / 2⌉ = 1 deadline, twice at worst, and the run itself.
    const bound = 2 * Math.ceil(2 / THREADS) * DEADLINE_MS + 1000
    expect(
      violations,
      timeToResultMs <= bound,
      `another user's run took ${timeToResultMs} ms behind a flood of ${flood.length} (bound ${bound} ms)`
    )
    const [{ waiting }] = await sql<{ waiting: number }[]>`
      select count(*)::int as waiting from app.simulation_runs where id = any(${flood}) and status = 'queued'
    `

    return {
      figures: {
        floodedRuns: flood.length,
        floodStillWaiting: waiting,
        otherUsersTimeToResultMs: timeToResultMs,
        previews: sent,
        previewStatuses: statuses,
        probes: probeMs.length,
        slowestProbeMs: Math.round(slowest),
        anonymousRefusals: anonymous,
        auditRowsWritten: after - before
      },
      violations
    }
  } finally {
    await sql.end({ timeout: 1 })
    await stopProcess(worker, 'SIGKILL')
    await stopProcess(api)
  }
}
