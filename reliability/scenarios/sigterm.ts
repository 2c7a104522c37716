// SIGTERM under load: autocannon on keep-alive connections plus slow uploads in flight. A load
// balancer stops routing once readiness answers 503; until then nothing may be reset or fail.
import autocannon from 'autocannon'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { call, leaks } from '../../test/helpers/http.ts'
import { type Context, expect, type Result, startApi, userOn, workspaceOn } from '../../test/helpers/stack.ts'

export async function sigtermUnderLoad(ctx: Context): Promise<Result> {
  const long = ctx.mode === 'long'
  const url = await ctx.createDatabase()
  const api = await startApi({ DATABASE_URL: url, SHUTDOWN_DRAIN_MS: '1000' })
  const violations: string[] = []
  try {
    const auth = await userOn(api.port, 'sigterm@example.com')
    const workspaceId = await workspaceOn(api.port, auth)

    const errors: Record<string, number> = {}
    const statuses: Record<string, number> = {}
    let leaky = 0
    let resolveResult: (r: autocannon.Result) => void = () => {}
    const result = new Promise<autocannon.Result>((resolve) => {
      resolveResult = resolve
    })
    const cannon = autocannon(
      {
        url: `http://127.0.0.1:${api.port}/workspaces/${workspaceId}`,
        headers: auth,
        connections: 10,
        duration: 60,
        timeout: 10
      },
      (_err, res) => resolveResult(res)
    )
    cannon.on('reqError', (err: NodeJS.ErrnoException) => {
      errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1
    })
    cannon.on('response', (_client: unknown, statusCode: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
    })

    await new Promise((r) => setTimeout(r, long ? 3000 : 1000))
    // Uploads slower than the handler timeout (BASE_ENV), in flight when the signal lands.
    const slow = Array.from({ length: long ? 10 : 4 }, (_, i) =>
      call(api.port, {
        method: 'POST',
        path: '/workspaces',
        headers: auth,
        body: { name: `slow ${i}`, design: SAMPLE_DESIGN },
        trickleMs: 2500
      })
    )
    await new Promise((r) => setTimeout(r, 200))
    const signalledAt = Date.now()
    api.child.kill('SIGTERM')

    // The load balancer: it stops routing new requests at the first 503 from readiness.
    let notReadyAt = 0
    while (!notReadyAt) {
      const probe = await call(api.port, { path: '/health/ready', timeoutMs: 2000 })
      if (probe.status === 503) notReadyAt = probe.at
      else if (probe.error) break
      else await new Promise((r) => setTimeout(r, 50))
    }
    cannon.stop()
    const [load, uploads, code] = await Promise.all([result, Promise.all(slow), api.exited])
    for (const upload of uploads) if (upload.status && upload.status >= 500 && leaks(upload.body ?? '')) leaky++

    const other5xx = Object.entries(statuses)
      .filter(([s]) => Number(s) >= 500 && Number(s) !== 503)
      .reduce((n, [, c]) => n + c, 0)
    const figures = {
      requests: load.requests.total + uploads.length,
      '2xx': load['2xx'] + uploads.filter((u) => u.status && u.status < 300).length,
      '4xx': load['4xx'],
      '503': statuses[503] ?? 0,
      other5xx,
      connectionErrors: Object.values(errors).reduce((a, b) => a + b, 0),
      errorCodes: errors,
      p50Ms: load.latency.p50,
      p99Ms: load.latency.p99,
      maxMs: load.latency.max,
      slowRequests: uploads.length,
      slowRequestsCompleted: uploads.filter((u) => u.status === 201).length,
      slowRequestOutcomes: [...new Set(uploads.map((u) => u.status ?? u.error))],
      timeToNotReadyMs: notReadyAt ? notReadyAt - signalledAt : null,
      exitCode: code
    }
    expect(violations, figures.connectionErrors === 0, `connection errors: ${JSON.stringify(errors)}`)
    expect(violations, other5xx === 0, `5xx other than 503: ${other5xx}`)
    expect(violations, leaky === 0, `${leaky} 5xx bodies leaked internals`)
    expect(violations, figures.slowRequestsCompleted === uploads.length, 'a slow request did not complete')
    expect(violations, code === 0, `exit code ${code}`)
    expect(violations, notReadyAt > 0, 'readiness never answered 503')
    return { figures, violations }
  } finally {
    api.child.kill('SIGKILL')
  }
}
