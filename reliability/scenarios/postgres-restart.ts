// PostgreSQL stopped and started under load (a server of the scenario's own): readiness turns
// 503 within one probe, requests answer 503 (never another 5xx, never a hang), everything
// recovers within seconds of Postgres returning, no process dies, no job is lost; and an api
// started while Postgres is down waits for it and comes up.
import { call, loop, Tally } from '../../test/helpers/http.ts'
import { fork } from '../../test/helpers/process.ts'
import {
  type Api,
  type Context,
  checkSql,
  countResultWrites,
  enqueueSimulations,
  expect,
  OwnPostgres,
  type Result,
  setUpDatabase,
  simulationFigures,
  startApi,
  startWorker,
  userOn,
  workspaceOn
} from '../../test/helpers/stack.ts'
import { until, waitFor } from '../../test/helpers/wait.ts'

const PROBE_INTERVAL_MS = 100

export async function postgresRestart(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const outageMs = long ? 5000 : 2000
  const pg = new OwnPostgres()
  await pg.start()
  const violations: string[] = []
  const procs: { child: { kill: (s: NodeJS.Signals) => void } }[] = []
  try {
    let sql = checkSql(pg.url)
    await setUpDatabase(sql)
    await countResultWrites(sql)
    await sql.end()
    const env = { DATABASE_URL: pg.url, HANDLER_TIMEOUT_MS: '2000' }
    const api: Api = await startApi(env)
    const worker = await startWorker(env, ['--queues', 'simulation'])
    procs.push(api, worker)
    const auth = await userOn(api.port, 'pg-restart@example.com')
    const workspaceId = await workspaceOn(api.port, auth)
    const before = await enqueueSimulations(() => api.port, auth, workspaceId, 10)

    const tally = new Tally()
    const probes: { at: number; status?: number }[] = []
    let running = true
    const load = loop(
      4,
      () => !running,
      async () => {
        tally.add(await call(api.port, { path: `/workspaces/${workspaceId}`, headers: auth, timeoutMs: 5000 }))
        await new Promise((r) => setTimeout(r, 10))
      }
    )
    const prober = loop(
      1,
      () => !running,
      async () => {
        const probe = await call(api.port, { path: '/health/ready', timeoutMs: 5000 })
        probes.push({ at: probe.at, status: probe.status })
        await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS))
      }
    )
    await new Promise((r) => setTimeout(r, 1000))
    const stoppedAt = Date.now()
    await pg.stop()
    await new Promise((r) => setTimeout(r, outageMs))
    await pg.start()
    const startedAt = Date.now()
    const recoveryMs = await until(
      () => {
        const ok = tally.outcomes.some((o) => o.at > startedAt && o.status === 200)
        return ok && probes.some((p) => p.at > startedAt && p.status === 200)
      },
      { timeoutMs: 30_000, what: 'recovery' }
    ).catch(() => null)
    await new Promise((r) => setTimeout(r, 500))
    running = false
    await Promise.all([load, prober])

    const firstNotReady = probes.find((p) => p.at >= stoppedAt && p.status === 503)
    const during = tally.outcomes.filter((o) => o.at > stoppedAt + 100 && o.at < startedAt)
    sql = checkSql(pg.url)
    const after = await enqueueSimulations(() => api.port, auth, workspaceId, 10)
    const runIds = [...before, ...after]
    await waitFor(async () => (await simulationFigures(sql, runIds)).jobsLost === 0, {
      timeoutMs: 60_000,
      what: 'every run to finish'
    }).catch(() => {})
    const jobs = await simulationFigures(sql, runIds)
    await sql.end()
    const alive = api.child.exitCode === null && worker.child.exitCode === null

    // Start-up while Postgres is down: the api waits and comes up when it returns.
    await pg.stop()
    const late = fork('src/server.ts', { ...env, API_PORT: '0', LOG_LEVEL: 'info' })
    procs.push(late)
    await late.waitForLog(/database unreachable/, 20_000)
    await pg.start()
    const lateStartedAt = Date.now()
    const listening = await late.waitForLog(/Server listening/, 30_000).catch(() => null)
    const lateUpMs = listening ? Date.now() - lateStartedAt : null

    const http = tally.figures()
    const figures = {
      ...http,
      outageMs,
      requestsDuringOutage: during.length,
      timeToNotReadyMs: firstNotReady ? firstNotReady.at - stoppedAt : null,
      recoveryMs,
      processesAlive: alive,
      ...jobs,
      startWhileDownThenUpMs: lateUpMs
    }
    expect(violations, !!firstNotReady, 'readiness never answered 503')
    expect(
      violations,
      !!firstNotReady && firstNotReady.at - stoppedAt <= 2000 + PROBE_INTERVAL_MS,
      `readiness took ${figures.timeToNotReadyMs} ms to turn 503`
    )
    expect(violations, during.length > 0, 'no request was made during the outage')
    expect(
      violations,
      during.every((o) => o.status === 503 || o.status === 200),
      `during the outage: ${[...new Set(during.map((o) => o.status ?? o.error))]}`
    )
    expect(violations, http.other5xx === 0, `${http.other5xx} 5xx other than 503`)
    expect(violations, http.timeouts === 0 && http.connectionErrors === 0, 'a request hung or its connection failed')
    expect(violations, tally.leakyBodies === 0, `${tally.leakyBodies} 5xx bodies leaked internals`)
    expect(violations, recoveryMs !== null && recoveryMs <= 5000, `recovery took ${recoveryMs} ms`)
    expect(violations, alive, 'a process died')
    expect(violations, jobs.jobsLost === 0, `${jobs.jobsLost} jobs lost`)
    expect(violations, jobs.jobsResultWrittenTwice === 0, 'a result was written twice')
    expect(violations, lateUpMs !== null, 'an api started while Postgres was down never came up')
    return { figures, violations }
  } finally {
    for (const proc of procs) proc.child.kill('SIGKILL')
    await pg.destroy()
  }
}
