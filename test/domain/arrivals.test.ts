import t from 'tap'
import { arrivalGaps } from '../../src/domain/engine/discrete-event.ts'
import { simulate } from '../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import { createRng } from '../../src/domain/random.ts'

// Bursty (and smooth) arrivals: the traffic profile's arrivalCv. The discrete-event mode is the
// reference, checked here against GI/M/1's exact sojourn; the analytic mode is Allen–Cunneen.

const traffic = (peakRps: number, arrivalCv: number): TrafficProfile => ({
  peakRps,
  readRatio: 1,
  payloadKb: 4,
  latencySloMs: 100,
  arrivalCv
})
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
/** users → one M/M/1 of 10 ms. */
const single: Design = {
  components: [users, { id: 'svc', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 }],
  links: [{ from: 'users', to: 'svc' }]
}

/**
 * GI/M/1's mean sojourn, exactly: 1 / (μ(1 − σ)) with σ the root in (0, 1) of σ = A*(μ(1 − σ)),
 * A* the transform of the time between arrivals. Apart from the engine.
 */
function giM1SojournMs(transform: (s: number) => number, mu: number): number {
  let sigma = 0.5
  for (let i = 0; i < 10_000; i++) sigma = transform(mu * (1 - sigma))
  return 1000 / (mu * (1 - sigma))
}

t.test('the sources have the mean and CV asked for', async (t) => {
  for (const cv of [0, 0.5, 2, 3]) {
    const gap = arrivalGaps(createRng(11), 100, cv)
    const n = 400_000
    let sum = 0
    let squares = 0
    for (let i = 0; i < n; i++) {
      const x = gap()
      sum += x
      squares += x * x
    }
    const mean = sum / n
    const sd = Math.sqrt(Math.max(0, squares / n - mean * mean))
    t.ok(Math.abs(mean - 0.01) <= 0.01 * 0.01, `CV ${cv}: mean ${mean}`)
    t.ok(Math.abs(sd / mean - cv) <= 0.02 * Math.max(cv, 0.05), `CV ${cv}: ${sd / mean}`)
  }
})

t.test('the discrete-event mode matches GI/M/1 exactly; the analytic mode is Allen–Cunneen', async (t) => {
  const lambda = 70
  const mu = 100
  // Two-phase hyperexponential, balanced means, CV 2.
  const c2 = 4
  const p = (1 + Math.sqrt((c2 - 1) / (c2 + 1))) / 2
  const [l1, l2] = [2 * p * lambda, 2 * (1 - p) * lambda]
  const h2 = (s: number) => (p * l1) / (l1 + s) + ((1 - p) * l2) / (l2 + s)
  // Erlang of 4 phases: CV 0.5.
  const e4 = (s: number) => ((4 * lambda) / (4 * lambda + s)) ** 4
  for (const [cv, transform] of [
    [2, h2],
    [0.5, e4]
  ] as const) {
    const exact = giM1SojournMs(transform, mu)
    const des = simulate(single, traffic(lambda, cv), { mode: 'discrete-event', samples: 400_000, seed: 2 })
    const ci = des.confidence?.meanLatencyMs as { low: number; high: number }
    const slack = 0.01 * exact
    t.ok(ci.low - slack <= exact && exact <= ci.high + slack, `CV ${cv}: GI/M/1 ${exact} in [${ci.low}, ${ci.high}]`)
    // Allen–Cunneen: W = ρ/(1 − ρ) · (c_a² + 1)/2 · s.
    const approx = 10 + (0.7 / 0.3) * ((cv * cv + 1) / 2) * 10
    const analytic = simulate(single, traffic(lambda, cv)).overall.meanLatencyMs as number
    t.ok(Math.abs(analytic - approx) <= 1e-3 * approx, `CV ${cv}: analytic ${analytic} is Allen–Cunneen's ${approx}`)
  }
})

t.test('a design that holds Poisson traffic misses its SLO under bursty traffic', async (t) => {
  const poisson = simulate(single, traffic(60, 1))
  const bursty = simulate(single, traffic(60, 3))
  t.ok((poisson.overall.p95 as number) <= 100, `Poisson: p95 ${poisson.overall.p95} ms`)
  t.ok((bursty.overall.p95 as number) > 100, `CV 3: p95 ${bursty.overall.p95} ms`)
  t.same(
    bursty.components.map((c) => c.utilization),
    poisson.components.map((c) => c.utilization),
    'at the same utilisation'
  )
})
