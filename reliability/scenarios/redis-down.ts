// Redis stopped under load (cut at a TCP proxy in front of the real Redis): rate limiting goes
// on per instance in memory (never open, never a 500), readiness says redis "degraded", and
// the shared counters are used again once Redis is back.
import { randomBytes } from 'node:crypto'
import { call, Tally } from '../../test/helpers/http.ts'
import { TcpProxy } from '../../test/helpers/proxy.ts'
import { type Context, expect, type Result, startApi, userOn } from '../../test/helpers/stack.ts'
import { until } from '../../test/helpers/wait.ts'

const LIMIT = 40

async function burst(port: number, auth: Record<string, string>, count: number, tally: Tally) {
  const statuses: number[] = []
  for (let i = 0; i < count; i++) {
    const res = tally.add(await call(port, { path: '/workspaces', headers: auth, timeoutMs: 5000 }))
    statuses.push(res.status ?? 0)
  }
  return { allowed: statuses.filter((s) => s === 200).length, limited: statuses.filter((s) => s === 429).length }
}

async function redisCheck(port: number): Promise<string | undefined> {
  const res = await call(port, { path: '/health/ready', timeoutMs: 5000 })
  return res.body ? JSON.parse(res.body).checks?.redis : undefined
}

export async function redisDown(ctx: Context): Promise<Result> {
  const url = await ctx.createDatabase()
  const proxy = new TcpProxy(ctx.redisUrl as string)
  await proxy.start()
  const redisUrl = proxy.urlFor(ctx.redisUrl as string)
  const api = await startApi({
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `sdc-rel-${randomBytes(4).toString('hex')}:`,
    RATE_LIMIT_MAX_REQUESTS: String(LIMIT),
    RATE_LIMIT_WINDOW_MS: '600000'
  })
  const violations: string[] = []
  try {
    const auth = await userOn(api.port, 'redis-down@example.com')
    const tally = new Tally()
    const up = await burst(api.port, auth, LIMIT + 10, tally)

    const cutAt = Date.now()
    await proxy.stop()
    const degradedMs = await until(async () => (await redisCheck(api.port)) === 'degraded', {
      timeoutMs: 15_000,
      what: 'readiness to report redis degraded'
    }).catch(() => null)
    const down = await burst(api.port, auth, LIMIT + 10, tally)

    await proxy.start()
    const recoveryMs = await until(async () => (await redisCheck(api.port)) === 'connected', {
      timeoutMs: 30_000,
      what: 'readiness to report redis connected'
    }).catch(() => null)
    const back = await burst(api.port, auth, 5, tally)

    const http = tally.figures()
    const figures = {
      ...http,
      limit: LIMIT,
      allowedWithRedis: up.allowed,
      allowedWithRedisDown: down.allowed,
      limitedWithRedisDown: down.limited,
      allowedAfterRecovery: back.allowed,
      timeToDegradedMs: degradedMs,
      redisRecoveryMs: recoveryMs,
      cutToRecoveredMs: recoveryMs === null ? null : Date.now() - cutAt
    }
    expect(violations, up.allowed === LIMIT, `with Redis: ${up.allowed} allowed of a limit of ${LIMIT}`)
    expect(violations, degradedMs !== null, 'readiness never reported redis degraded')
    expect(violations, down.allowed <= LIMIT && down.limited >= 10, `Redis down: ${JSON.stringify(down)} (fail open?)`)
    expect(violations, recoveryMs !== null, 'Redis never counted as connected again')
    expect(violations, back.allowed === 0, 'after recovery the shared counter (already over the limit) was not used')
    expect(violations, http.other5xx === 0 && http['503'] === 0, 'a 5xx while Redis was down')
    expect(violations, http.connectionErrors === 0 && http.timeouts === 0, 'a request failed or hung')
    return { figures, violations }
  } finally {
    api.child.kill('SIGKILL')
    await proxy.stop()
  }
}
