import { type Agent, request as httpRequest } from 'node:http'

export interface Outcome {
  status?: number
  /** A connection-level failure: ECONNRESET, ECONNREFUSED, or TIMEOUT when no answer came in time. */
  error?: string
  ms: number
  at: number
  body?: string
  headers?: Record<string, string | string[] | undefined>
}

export interface Call {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: unknown
  agent?: Agent | false
  /** The client gives up after this long and counts a TIMEOUT (a hang, in the figures). */
  timeoutMs?: number
  /** Sends the body in ten pieces spread over this long: a slow client's upload. */
  trickleMs?: number
}

/** One HTTP request over a real socket; never rejects. */
export function call(port: number, c: Call): Promise<Outcome> {
  const started = performance.now()
  const payload = c.body === undefined ? undefined : JSON.stringify(c.body)
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: Omit<Outcome, 'ms' | 'at'>) => {
      if (settled) return
      settled = true
      resolve({ ...outcome, ms: performance.now() - started, at: Date.now() })
    }
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: c.method ?? 'GET',
        path: c.path,
        agent: c.agent ?? false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...c.headers
        }
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => finish({ status: res.statusCode, body, headers: res.headers }))
        res.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }))
      }
    )
    req.setTimeout(c.timeoutMs ?? 15_000, () => {
      finish({ error: 'TIMEOUT' })
      req.destroy()
    })
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }))
    if (!payload || !c.trickleMs) return void req.end(payload)
    const body = Buffer.from(payload)
    const size = Math.ceil(body.length / 10)
    let sent = 0
    const timer = setInterval(() => {
      req.write(body.subarray(sent, sent + size))
      sent += size
      if (sent >= body.length) {
        clearInterval(timer)
        req.end()
      }
    }, c.trickleMs / 10)
  })
}

export interface HttpFigures {
  requests: number
  '2xx': number
  '4xx': number
  '503': number
  other5xx: number
  connectionErrors: number
  timeouts: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const round = (n: number) => Math.round(n * 10) / 10

/** Counts outcomes by class; a 5xx body that is not the error shape or leaks a stack counts too. */
export class Tally {
  readonly outcomes: Outcome[] = []
  leakyBodies = 0

  add(outcome: Outcome): Outcome {
    this.outcomes.push(outcome)
    if (outcome.status && outcome.status >= 500 && outcome.body && leaks(outcome.body)) this.leakyBodies++
    return outcome
  }

  figures(): HttpFigures {
    const latencies = this.outcomes.map((o) => o.ms).sort((a, b) => a - b)
    const count = (test: (o: Outcome) => boolean) => this.outcomes.filter(test).length
    return {
      requests: this.outcomes.length,
      '2xx': count((o) => !!o.status && o.status < 300),
      '4xx': count((o) => !!o.status && o.status >= 400 && o.status < 500),
      '503': count((o) => o.status === 503),
      other5xx: count((o) => !!o.status && o.status >= 500 && o.status !== 503),
      connectionErrors: count((o) => !!o.error && o.error !== 'TIMEOUT'),
      timeouts: count((o) => o.error === 'TIMEOUT'),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies.at(-1) ?? 0)
    }
  }
}

/** A 5xx body must be the error shape and say nothing about the internals. */
export function leaks(body: string): boolean {
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(body)
  } catch {
    return true
  }
  const text = JSON.stringify(parsed)
  return (
    typeof parsed.code !== 'string' ||
    typeof parsed.requestId !== 'string' ||
    /\bat .+:\d+:\d+|node_modules|postgres|ECONN|stack/i.test(text)
  )
}

/** Runs `worker` from `concurrency` loops until `until()` is true. */
export async function loop(concurrency: number, until: () => boolean, worker: (i: number) => Promise<unknown>) {
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (!until()) await worker(i)
    })
  )
}
