import { readFile } from 'node:fs/promises'

// What a V8 CPU profile (node --cpu-prof) says one request costs, by part of the stack: the
// self time of the samples taken while the load ran, grouped by where their function lives.

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** The part of the stack a function belongs to, from its script's URL (first match wins). */
const PARTS: [string, (url: string, fn: string) => boolean][] = [
  ['socket writes (the kernel)', (u, f) => !u && /^write(Utf8String|Buffer|v)/.test(f)],
  ['garbage collection', (_, f) => f === '(garbage collector)'],
  [
    'OpenTelemetry (spans, context, OTLP export)',
    (u) => u.includes('/node_modules/@opentelemetry/') || /\/(src|plugins)\/tracing\.ts$/.test(u)
  ],
  ['JWT (fast-jwt, HMAC)', (u) => u.includes('/node_modules/fast-jwt/') || u.startsWith('node:internal/crypto')],
  ['auth plugin (user state cache)', (u) => u.includes('/plugins/auth.ts')],
  ['rate limit', (u) => u.includes('/plugins/rate-limit.ts') || u.includes('/src/client-address.ts')],
  ['telemetry (buffer, batched insert)', (u) => u.includes('/plugins/telemetry.ts')],
  ['postgres.js (statements, the telemetry insert)', (u) => u.includes('/node_modules/postgres/')],
  ['security headers, CORS', (u) => u.includes('/plugins/security.ts') || u.includes('/node_modules/@fastify/cors/')],
  [
    'request id, logging',
    (u) => u.includes('/plugins/request-context.ts') || u.includes('/src/ids.ts') || u.includes('/node_modules/pino')
  ],
  ['handler deadlines, drain', (u) => u.includes('/plugins/lifecycle.ts')],
  ['metrics', (u) => u.includes('/plugins/metrics.ts') || u.includes('/node_modules/prom-client/')],
  ['audit', (u) => u.includes('/plugins/audit.ts')],
  [
    'Fastify (routing, hooks, reply)',
    (u) =>
      /\/node_modules\/(fastify|find-my-way|fast-json-stringify|@fastify|avvio|fast-querystring|fast-decode-uri-component)\//.test(
        u
      )
  ],
  [
    'Node HTTP and streams',
    (u) =>
      /^node:(_http|net|events|stream|internal\/(streams|stream_base|http|timers|process|async_hooks|url))/.test(u) ||
      u.startsWith('wasm://')
  ],
  ['V8 and libuv (no JavaScript frame)', (u, f) => !u && f === '(program)']
]

/** µs of CPU per request by part, for the samples between `from` and `to` (µs, process.hrtime's clock). */
export async function costPerRequest(path: string, from: number, to: number, requests: number) {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const parts = new Map<string, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]
    if (at < from || at > to) continue
    const frame = nodes.get(profile.samples[i])
    if (!frame || frame.functionName === '(idle)') continue
    const part = PARTS.find(([, test]) => test(frame.url, frame.functionName))?.[0] ?? 'other JavaScript'
    parts.set(part, (parts.get(part) ?? 0) + profile.timeDeltas[i])
  }
  const perRequest = Object.fromEntries(
    [...parts.entries()].sort((a, b) => b[1] - a[1]).map(([part, us]) => [part, Math.round((us / requests) * 10) / 10])
  )
  const total = Math.round(([...parts.values()].reduce((a, b) => a + b, 0) / requests) * 10) / 10
  return { requests, totalUsPerRequest: total, parts: perRequest }
}
