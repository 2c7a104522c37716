import { Agent, request } from 'node:http'
import t from 'tap'
import { createTestDatabase, waitFor } from './helpers/db.ts'
import { fork } from './helpers/process.ts'

interface Outcome {
  status?: number
  error?: string
  at: number
}

function get(port: number, path: string, agent: Agent | false = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, at: Date.now() }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, at: Date.now() }))
    req.end()
  })
}

t.test('the api drains on SIGTERM: readiness 503 first, no resets, exit 0', async (t) => {
  const { url } = await createTestDatabase(t)
  const api = fork('src/server.ts', { DATABASE_URL: url, API_PORT: '0', SHUTDOWN_DRAIN_MS: '600' })
  t.teardown(() => {
    api.child.kill('SIGKILL')
  })
  const listening = await api.waitForLog(/Server listening/)
  const port = Number(/:(\d+)$/.exec(String(listening.msg))?.[1])
  t.ok(port > 0)

  // Four keep-alive clients behave like a load balancer: they stop sending new requests once
  // readiness answers 503 (the drain delay exists for exactly that), and never retry.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())
  const outcomes: Outcome[] = []
  const readiness: Outcome[] = []
  let routed = true
  const clients = Array.from({ length: 4 }, async () => {
    while (routed) outcomes.push(await get(port, '/health/live', agent))
  })
  const prober = (async () => {
    for (;;) {
      const outcome = await get(port, '/health/ready')
      readiness.push(outcome)
      if (outcome.status === 503) routed = false
      if (outcome.error) return
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  await waitFor(() => outcomes.length > 50, { what: 'requests flowing' })
  const signalledAt = Date.now()
  api.child.kill('SIGTERM')
  const code = await api.exited
  const exitedAt = Date.now()
  await Promise.all([...clients, prober])

  t.equal(code, 0, 'exit code 0')
  const statuses = new Set(outcomes.filter((o) => o.status).map((o) => o.status))
  t.ok(
    [...statuses].every((s) => s === 200 || s === 503),
    `only 200 or 503, saw ${[...statuses]}`
  )
  t.same(
    outcomes.filter((o) => o.error),
    [],
    'no connection resets or refusals for routed requests'
  )
  const first503 = readiness.find((o) => o.status === 503)
  t.ok(first503 && first503.at >= signalledAt, 'readiness answered 503 after the signal')
  t.ok(
    readiness.some((o) => o.status === 503 && o.at < exitedAt - 300),
    'readiness answered 503 while the listener was still open (during the drain delay)'
  )
  // The health prober keeps going past the close (routed traffic does not): its last probe fails,
  // refused or, racing the close of the listening socket, reset.
  t.match(readiness.at(-1), { error: /^(ECONNREFUSED|ECONNRESET)$/ }, 'the listener closed in the end')

  const messages = api.stdout.map((l) => JSON.parse(l).msg as string)
  t.ok(messages.some((m) => /received SIGTERM: shutting down/.test(m)))
  t.ok(messages.some((m) => /shutdown: readiness 503, draining/.test(m)))
  t.ok(messages.some((m) => /queue stopped/.test(m)))
  t.ok(messages.some((m) => /database pool closed/.test(m)))
  t.ok(messages.some((m) => /shutdown complete/.test(m)))
})

t.test('a second signal exits at once', async (t) => {
  const { url } = await createTestDatabase(t)
  const api = fork('src/server.ts', { DATABASE_URL: url, API_PORT: '0', SHUTDOWN_DRAIN_MS: '20000' })
  t.teardown(() => {
    api.child.kill('SIGKILL')
  })
  await api.waitForLog(/Server listening/)
  api.child.kill('SIGTERM')
  await api.waitForLog(/received SIGTERM/)
  const sentAt = Date.now()
  api.child.kill('SIGINT')
  t.equal(await api.exited, 1)
  t.ok(Date.now() - sentAt < 5000, 'did not wait out the 20 s drain')
  t.ok(api.stdout.some((l) => /received SIGINT again: exiting now/.test(l)))
})

t.test('shutdown that outlasts SHUTDOWN_TIMEOUT_MS exits 1', async (t) => {
  const { url } = await createTestDatabase(t)
  const api = fork('src/server.ts', {
    DATABASE_URL: url,
    API_PORT: '0',
    SHUTDOWN_DRAIN_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '500'
  })
  t.teardown(() => {
    api.child.kill('SIGKILL')
  })
  await api.waitForLog(/Server listening/)
  api.child.kill('SIGTERM')
  t.equal(await api.exited, 1)
  t.ok(api.stdout.some((l) => /did not finish within 500 ms/.test(l)))
})
