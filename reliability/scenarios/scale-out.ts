// Two api instances and two workers on one Postgres and one Redis, behind a round-robin TCP
// proxy: the auth rate limit holds at its maximum in total, a lockout made through one instance
// holds on the other, and every job's effect happens exactly once.
import { randomBytes } from 'node:crypto'
import { call } from '../../test/helpers/http.ts'
import type { Forked } from '../../test/helpers/process.ts'
import { TcpProxy } from '../../test/helpers/proxy.ts'
import {
  type Api,
  type Context,
  checkSql,
  countResultWrites,
  enqueueSimulations,
  expect,
  type Result,
  simulationFigures,
  startApi,
  startWorker,
  userOn,
  workspaceOn
} from '../../test/helpers/stack.ts'
import { waitFor } from '../../test/helpers/wait.ts'

const AUTH_LIMIT = 10
const LOCK_AFTER = 3

export async function scaleOut(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const url = await ctx.createDatabase()
  const sql = checkSql(url)
  await countResultWrites(sql)
  const env = {
    DATABASE_URL: url,
    REDIS_URL: ctx.redisUrl as string,
    REDIS_KEY_PREFIX: `sdc-rel-${randomBytes(4).toString('hex')}:`,
    // The proxy is the only hop: its X-Forwarded-For names the client, so each phase has its own.
    TRUST_PROXY: '127.0.0.1/32',
    AUTH_RATE_LIMIT_MAX_REQUESTS: String(AUTH_LIMIT),
    AUTH_RATE_LIMIT_WINDOW_MS: '600000',
    AUTH_LOGIN_MAX_ATTEMPTS: String(LOCK_AFTER)
  }
  const procs: Forked[] = []
  const violations: string[] = []
  try {
    const apis: Api[] = await Promise.all([startApi(env), startApi(env)])
    const workers = await Promise.all([
      startWorker(env, ['--queues', 'simulation']),
      startWorker(env, ['--queues', 'simulation'])
    ])
    procs.push(...apis, ...workers)
    const proxy = new TcpProxy(apis.map((a) => ({ host: '127.0.0.1', port: a.port })))
    await proxy.start()
    const port = proxy.port

    // Jobs: every run is computed and stored once, whichever api took it and whichever worker ran it.
    const jobsClient = { 'x-forwarded-for': '10.0.0.1' }
    const auth = { ...jobsClient, ...(await userOn(port, 'scale-jobs@example.com', jobsClient)) }
    const workspaceId = await workspaceOn(port, auth)
    const runIds = await enqueueSimulations(() => port, auth, workspaceId, long ? 400 : 100)
    await waitFor(async () => (await simulationFigures(sql, runIds)).jobsLost === 0, {
      timeoutMs: 120_000,
      what: 'every run to finish'
    }).catch(() => {})
    const jobs = await simulationFigures(sql, runIds)

    // Auth: one client, one shared bucket and one lockout, whichever instance answers.
    const authClient = { 'x-forwarded-for': '10.0.0.2' }
    const email = `scale-${randomBytes(3).toString('hex')}@example.com`
    const password = 'scale out password 1'
    const statuses: number[] = []
    const send = async (path: string, body: object) => {
      const res = await call(port, { method: 'POST', path, headers: authClient, body })
      statuses.push(res.status ?? 0)
      return res.status
    }
    await send('/auth/register', { email, password, displayName: 'Scale' })
    for (let i = 0; i < LOCK_AFTER; i++) await send('/auth/login', { email, password: 'wrong password 123' })
    const lockedHere = await send('/auth/login', { email, password })
    const lockedThere = await send('/auth/login', { email, password })
    while (statuses.length < AUTH_LIMIT * 3) await send('/auth/login', { email, password: 'wrong password 123' })
    const allowed = statuses.filter((s) => s !== 429).length

    const figures = {
      apis: apis.length,
      workers: workers.length,
      connectionsPerApi: proxy.connections,
      ...jobs,
      authLimit: AUTH_LIMIT,
      authRequests: statuses.length,
      authAllowedInTotal: allowed,
      lockoutThroughFirst: lockedHere,
      lockoutThroughSecond: lockedThere
    }
    await proxy.stop()
    expect(
      violations,
      proxy.connections.every((n) => n > 0),
      'one api got no traffic'
    )
    expect(violations, jobs.jobsLost === 0, `${jobs.jobsLost} jobs lost`)
    expect(violations, jobs.jobsResultWrittenTwice === 0, `${jobs.jobsResultWrittenTwice} results written twice`)
    expect(violations, jobs.jobsFailed === 0, `${jobs.jobsFailed} runs failed`)
    expect(violations, allowed === AUTH_LIMIT, `auth bucket allowed ${allowed} in total (limit ${AUTH_LIMIT})`)
    expect(violations, lockedHere === 423 && lockedThere === 423, `lockout: ${lockedHere}, ${lockedThere}`)
    return { figures, violations }
  } finally {
    for (const proc of procs) proc.child.kill('SIGKILL')
    await sql.end({ timeout: 1 })
  }
}
