import t, { type Test } from 'tap'
import { analyze } from '../../../src/domain/analysis.ts'
import { requestPaths, simulate } from '../../../src/domain/engine.ts'
import type { Design, Link, TrafficProfile } from '../../../src/domain/model.ts'

// A timeout on a link below the client that never fires changes nothing but its own figures:
// checked against the closed form of two M/M/1 stations in tandem.

const traffic: TrafficProfile = { peakRps: 50, readRatio: 1, payloadKb: 4, latencySloMs: 300 }
const close = (t: Test, actual: number, expected: number, tolerance: number, msg: string) =>
  t.ok(Math.abs(actual - expected) <= tolerance * expected, `${msg}: ${actual} ≈ ${expected} (±${tolerance * 100} %)`)

/** users → svc (M/M/1, 10 ms) → db (M/M/1, 5 ms), the lower link with the given fields. */
const tandem = (below: Partial<Link> = {}): Design => ({
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'svc', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 },
    { id: 'db', type: 'database', instances: 1, concurrency: 1, serviceTimeMs: 5 }
  ],
  links: [
    { from: 'users', to: 'svc' },
    { from: 'svc', to: 'db', ...below }
  ]
})

// M/M/1 sojourns are exponential with rate μ − λ: 50 /s at svc, 150 /s at db. Their sum's tail is
// (150 e^(−50t) − 50 e^(−150t)) / 100; its p95 by bisection.
const exactMeanMs = 1000 / 50 + 1000 / 150
const exactP95Ms = (() => {
  const tail = (t: number) => (150 * Math.exp(-50 * t) - 50 * Math.exp(-150 * t)) / 100
  let lo = 0
  let hi = 1
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (tail(mid) > 0.05) lo = mid
    else hi = mid
  }
  return lo * 1000
})()

t.test('a timeout that never fires on a service → database link leaves the latency as it was', async (t) => {
  const plain = simulate(tandem(), traffic, { samples: 40_000 })
  const timed = simulate(tandem({ timeoutMs: 60_000 }), traffic, { samples: 40_000 })
  for (const [name, r] of [
    ['without a timeout', plain],
    ['with one', timed]
  ] as const) {
    close(t, r.overall.meanLatencyMs as number, exactMeanMs, 0.02, `${name}: mean`)
    close(t, r.overall.p95 as number, exactP95Ms, 0.03, `${name}: p95`)
    t.equal(r.overall.errorRate, 0, `${name}: no errors`)
  }
  t.equal(timed.links?.[0].timeoutShare, 0, 'the timeout never fires')
  const svc = (r: typeof plain) => r.components.find((c) => c.id === 'svc')
  t.equal(svc(timed)?.arrivalRps, 50, 'every request reaches the service')
})

t.test('every request path keeps the service and goes on below the timeout', async (t) => {
  const paths = requestPaths(tandem({ timeoutMs: 60_000 }), traffic) ?? []
  t.equal(paths.length, 1, 'one kind of path')
  t.same([...paths[0].stations].sort(), ['db:primary', 'svc', 'svc->db'], 'service, the timeout and the database')
  t.equal(paths[0].probability, 1)
})

t.test('availability and losing the only database are as without the timeout', async (t) => {
  const plain = tandem()
  const timed = tandem({ timeoutMs: 60_000 })
  const a = analyze(plain, traffic, simulate(plain, traffic))
  const b = analyze(timed, traffic, simulate(timed, traffic))
  // Two single 99.9 % and 99.95 % instances in series (the catalogue's defaults).
  t.equal(b.availability.fraction, a.availability.fraction, 'the same availability')
  const dbDown = b.failures.find((f) => f.component === 'db')
  t.equal(dbDown?.outage, true, 'losing the only database is an outage')
  t.equal(dbDown?.errorRate, 1, 'every request fails')
  t.equal(a.failures.find((f) => f.component === 'db')?.errorRate, 1)
})

t.test('attempts lost below a link are retried: the retry storm amplifies by its closed form', async (t) => {
  // db refuses what finds its one server busy (queueLimit 0: Erlang B, loss a / (1 + a)); every
  // refused attempt is retried up to twice. The fixed point λ′ = λ (1 − L³) / (1 − L), solved apart.
  let amplification = 1
  for (let i = 0; i < 200; i++) {
    const a = (50 * amplification) / 200
    const loss = a / (1 + a)
    amplification = (1 - loss ** 3) / (1 - loss)
  }
  const design = tandem({ timeoutMs: 60_000, retries: 2 })
  design.components[2] = { ...design.components[2], queueLimit: 0 }
  const r = simulate(design, traffic)
  const link = r.links?.[0]
  t.equal(link?.timeoutShare, 0, 'nothing times out')
  close(t, link?.retryAmplification as number, amplification, 0.03, 'attempts per traversal')
  t.ok(amplification > 1.2, `the storm is real (${amplification})`)
})
