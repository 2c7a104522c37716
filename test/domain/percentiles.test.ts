import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import { mg1SojournQuantile } from '../../src/domain/mg1.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'

// Non-exponential service: M/G/1 sojourn percentiles are exact (the Pollaczek–Khinchine transform
// inverted; Erlang's formula for constant service), and the Monte-Carlo draws the exact wait.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
/** users → one server of 10 ms with the given CV. */
const single = (cv: number): Design => ({
  components: [
    users,
    { id: 'svc', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10, serviceTimeCv: cv }
  ],
  links: [{ from: 'users', to: 'svc' }]
})

/** M/D/1's sojourn p95 (ms, D = 10 ms) from Erlang's waiting-time formula, by bisection: apart from the engine. */
function md1P95(rho: number): number {
  const waitCdf = (x: number) => {
    let sum = 0
    for (let k = 0; k <= Math.floor(x); k++) {
      let f = 1
      for (let i = 2; i <= k; i++) f *= i
      sum += ((rho * (k - x)) ** k / f) * Math.exp(-rho * (k - x))
    }
    return (1 - rho) * sum
  }
  let lo = 0
  let hi = 20
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2
    if (waitCdf(mid) < 0.95) lo = mid
    else hi = mid
  }
  return (1 + lo) * 10
}

t.test('M/D/1 percentiles are exact, where an exponential wait made them too high', async (t) => {
  for (const rho of [0.5, 0.8, 0.9]) {
    const exact = md1P95(rho)
    const r = simulate(single(0), traffic(rho * 100), { samples: 40_000 })
    const station = r.components[0].p95LatencyMs as number
    t.ok(Math.abs(station - exact) <= 0.001 * exact, `ρ ${rho}: the station's p95 ${station} ≈ ${exact} ms (±0.1 %)`)
    const overall = r.overall.p95 as number
    t.ok(Math.abs(overall - exact) <= 0.015 * exact, `ρ ${rho}: the sampled p95 ${overall} ≈ ${exact} ms (±1.5 %)`)
  }
})

t.test('an M/M/1 through the same inversion gives its closed form', async (t) => {
  for (const rho of [0.3, 0.7, 0.95]) {
    const exact = Math.log(20) / (1 - rho)
    t.ok(Math.abs(mg1SojournQuantile(0.95, rho, 1) - exact) <= 1e-6 * exact, `ρ ${rho}`)
  }
})

t.test('M/G/1 with CV 2 agrees with a long discrete-event run within its interval', async (t) => {
  const design = single(2)
  const analytic = simulate(design, traffic(60), { samples: 100_000 })
  const des = simulate(design, traffic(60), { mode: 'discrete-event', samples: 400_000, replications: 20, seed: 3 })
  const ci = des.confidence?.p95 as { low: number; high: number }
  const station = analytic.components[0].p95LatencyMs as number
  const slack = 0.01 * station
  t.ok(station >= ci.low - slack && station <= ci.high + slack, `p95 ${station} in [${ci.low}, ${ci.high}] (±1 %)`)
  const overall = analytic.overall.p95 as number
  t.ok(overall >= ci.low - slack && overall <= ci.high + slack, `sampled p95 ${overall} in the interval too`)
})

t.test('the end-to-end mean is exact by linearity, not a sample of it', async (t) => {
  // M/M/1 at ρ 0.8: 10 / 0.2 = 50 ms; a few hundred samples would put a sample mean several % off.
  const r = simulate(single(1), traffic(80), { samples: 500 })
  t.equal(r.overall.meanLatencyMs, 50)
  // M/D/1 at ρ 0.5, Pollaczek–Khinchine: 10 + 0.5 · 10 / (2 · 0.5) = 15 ms.
  t.equal(simulate(single(0), traffic(50), { samples: 500 }).overall.meanLatencyMs, 15)
})

t.test('exact percentiles: requests that meet no station take exactly 0', async (t) => {
  // Writes pass nothing on (the link carries reads): 60 % of requests take 0, the reads an M/M/1
  // sojourn Exp(μ − λ_r) with λ_r = 40 /s, so P(L ≤ t) = 0.6 + 0.4 (1 − e^(−60t)).
  const design: Design = { ...single(1), links: [{ from: 'users', to: 'svc', traffic: 'read' }] }
  const r = simulate(design, { ...traffic(100), readRatio: 0.4 })
  t.equal(r.overall.percentiles, 'exact')
  t.equal(r.overall.p50, 0, 'the median request does nothing')
  const p95 = (Math.log(8) / 60) * 1000
  t.ok(Math.abs((r.overall.p95 as number) - p95) <= 1e-4 * p95, `p95 ${r.overall.p95} = ${p95} ms`)
})
