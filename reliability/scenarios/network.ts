// A TCP proxy between the api and Postgres adds latency, then blackholes (a partition: bytes
// held, nothing refused), then resets connections: requests fail fast with 503 within the
// handler timeout instead of hanging, and the pool recovers when the network does.
import { call, loop, type Outcome, Tally } from '../../test/helpers/http.ts'
import { TcpProxy } from '../../test/helpers/proxy.ts'
import { type Context, expect, type Result, startApi, userOn, workspaceOn } from '../../test/helpers/stack.ts'
import { until } from '../../test/helpers/wait.ts'

const HANDLER_TIMEOUT_MS = 1000
/** What "fails fast" allows beyond the handler timeout: scheduling on a loaded machine. */
const SLACK_MS = 1000

export async function network(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const phaseMs = long ? 5000 : 2000
  const url = await ctx.createDatabase()
  const proxy = new TcpProxy(url)
  await proxy.start()
  const api = await startApi({ DATABASE_URL: proxy.urlFor(url), HANDLER_TIMEOUT_MS: String(HANDLER_TIMEOUT_MS) })
  const violations: string[] = []
  try {
    const auth = await userOn(api.port, 'network@example.com')
    const workspaceId = await workspaceOn(api.port, auth)
    const phases: Record<string, Tally> = {}
    let phase = 'baseline'
    let running = true
    const load = loop(
      6,
      () => !running,
      async () => {
        phases[phase] ??= new Tally()
        const tally = phases[phase]
        tally.add(await call(api.port, { path: `/workspaces/${workspaceId}`, headers: auth, timeoutMs: 10_000 }))
      }
    )
    const enter = async (name: string, ms: number) => {
      phase = name
      await new Promise((r) => setTimeout(r, ms))
    }
    const recover = async (name: string) => {
      phase = name
      const started = Date.now()
      return until(() => phases[name]?.outcomes.some((o: Outcome) => o.status === 200 && o.at > started), {
        timeoutMs: 30_000,
        what: `recovery after ${name}`
      }).catch(() => null)
    }

    await enter('baseline', 1000)
    proxy.latencyMs = 50
    await enter('latency', phaseMs)
    proxy.latencyMs = 0
    proxy.blackhole()
    await enter('blackhole', phaseMs)
    const readinessDuringBlackhole = await call(api.port, { path: '/health/ready', timeoutMs: 10_000 })
    proxy.heal()
    const afterBlackholeMs = await recover('after-blackhole')
    const resets = setInterval(() => proxy.resetConnections(), 200)
    await enter('resets', phaseMs)
    clearInterval(resets)
    const afterResetsMs = await recover('after-resets')
    await enter('after-resets', 500)
    running = false
    await load

    const figures: Record<string, unknown> = {}
    for (const [name, tally] of Object.entries(phases)) figures[name] = tally.figures()
    const all = Object.values(phases).flatMap((t) => t.outcomes)
    const statuses = new Set(all.map((o) => o.status ?? o.error))
    const blackhole = phases.blackhole.figures()
    Object.assign(figures, {
      handlerTimeoutMs: HANDLER_TIMEOUT_MS,
      readinessDuringBlackhole: readinessDuringBlackhole.status,
      readinessDuringBlackholeMs: Math.round(readinessDuringBlackhole.ms),
      recoveryAfterBlackholeMs: afterBlackholeMs,
      recoveryAfterResetsMs: afterResetsMs
    })
    const odd = all.find((o) => o.status !== 200 && o.status !== 503)
    expect(
      violations,
      !odd,
      `statuses seen: ${[...statuses]}; the first odd one: ${odd?.status ?? odd?.error} ${odd?.body}`
    )
    expect(violations, phases.latency.figures()['2xx'] > 0, 'nothing succeeded with 50 ms of latency')
    expect(violations, blackhole['503'] > 0, 'no request answered 503 during the blackhole')
    expect(
      violations,
      blackhole.maxMs <= HANDLER_TIMEOUT_MS + SLACK_MS,
      `a request took ${blackhole.maxMs} ms during the blackhole (timeout ${HANDLER_TIMEOUT_MS} ms)`
    )
    expect(violations, readinessDuringBlackhole.status === 503, 'readiness did not answer 503 during the blackhole')
    expect(violations, afterBlackholeMs !== null && afterBlackholeMs <= 5000, 'no recovery after the blackhole')
    expect(violations, afterResetsMs !== null && afterResetsMs <= 5000, 'no recovery after the resets')
    const leaky = Object.values(phases).reduce((n, t) => n + t.leakyBodies, 0)
    expect(violations, leaky === 0, `${leaky} 5xx bodies leaked internals`)
    expect(violations, api.child.exitCode === null, 'the api died')
    return { figures, violations }
  } finally {
    api.child.kill('SIGKILL')
    await proxy.stop()
  }
}
