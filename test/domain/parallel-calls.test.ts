import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { solve } from '../helpers/quantiles.ts'

// Parallel calls (fork-join): a component that calls its links at once waits for the slowest.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
/** users → api (a constant 1 ms delay) → a and b, two M/M/1 of 10 ms, called as `calls` says. */
const fanOut = (calls: 'sequential' | 'parallel'): Design => ({
  components: [
    users,
    {
      id: 'api',
      type: 'service',
      instances: 1,
      concurrency: 1,
      serviceTimeMs: 1,
      serviceTimeCv: 0,
      delay: true,
      calls
    },
    { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 },
    { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 }
  ],
  links: [
    { from: 'users', to: 'api' },
    { from: 'api', to: 'a' },
    { from: 'api', to: 'b' }
  ]
})

t.test('the slowest of two parallel calls sets the latency: the max of two exponentials', async (t) => {
  // Each sojourn is Exp(μ − λ = 50 /s): the max has mean 1/50 + 1/100 s and CDF (1 − e^(−50t))².
  const parallel = simulate(fanOut('parallel'), traffic(50), { samples: 60_000 })
  const mean = parallel.overall.meanLatencyMs as number
  t.ok(Math.abs(mean - 31) <= 0.02 * 31, `mean ${mean} ≈ 1 + 30 ms`)
  const p95 = 1 - Math.log(1 - Math.sqrt(0.95)) * 20
  t.ok(Math.abs((parallel.overall.p95 as number) - p95) <= 0.03 * p95, `p95 ${parallel.overall.p95} ≈ ${p95}`)
  const sequential = simulate(fanOut('sequential'), traffic(50), { samples: 60_000 })
  t.ok(Math.abs((sequential.overall.meanLatencyMs as number) - 41) <= 0.01 * 41, 'in sequence they add up: 41 ms')
  t.same(
    parallel.components.map((c) => c.arrivalRps),
    sequential.components.map((c) => c.arrivalRps),
    'the same load either way'
  )
})

t.test('the discrete-event mode forks and joins: Flatto and Hahn’s M/M/1 fork-join mean', async (t) => {
  // Two M/M/1 fed the same arrivals: mean response (12 − ρ)/8 · 1/(μ − λ) (Flatto and Hahn, 1984).
  const des = simulate(fanOut('parallel'), traffic(50), {
    mode: 'discrete-event',
    samples: 300_000,
    replications: 20,
    seed: 5
  })
  const exact = 1 + ((12 - 0.5) / 8) * 20
  const ci = des.confidence?.meanLatencyMs as { low: number; high: number }
  t.ok(ci.low - 0.01 * exact <= exact && exact <= ci.high + 0.01 * exact, `${exact} in [${ci.low}, ${ci.high}] (±1 %)`)
  // At ρ 0.2 the two waits are nearly independent: the analytic mode agrees within the interval.
  const light = simulate(fanOut('parallel'), traffic(20), { samples: 60_000 })
  const lightDes = simulate(fanOut('parallel'), traffic(20), { mode: 'discrete-event', samples: 200_000, seed: 5 })
  const lci = lightDes.confidence?.meanLatencyMs as { low: number; high: number }
  const m = light.overall.meanLatencyMs as number
  t.ok(m >= lci.low * 0.98 && m <= lci.high * 1.02, `analytic ${m} in [${lci.low}, ${lci.high}] (±2 %)`)
})

t.test('calls is validated', async (t) => {
  const design = fanOut('parallel')
  t.same(validateDesign(design), [])
  const bad = { ...design, components: design.components.map((c) => ({ ...c, calls: 'both' as never })) }
  t.match(validateDesign(bad)[0], { path: '/components/0/calls', message: 'one of sequential, parallel' })
})

t.test('exact percentiles: independent M/M/1 branches called in parallel have the product of their CDFs', async (t) => {
  // users call a (10 ms), b (5 ms) and, half the time, c (20 ms) at once, at 30 rps: each sojourn
  // is Exp(μ − λ) (c sees 15 rps), so P(max ≤ t) = F_a(t) F_b(t) (1/2 + F_c(t)/2).
  const design: Design = {
    components: [
      { ...users, calls: 'parallel' },
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 },
      { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 5 },
      { id: 'c', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 20 }
    ],
    links: [
      { from: 'users', to: 'a' },
      { from: 'users', to: 'b' },
      { from: 'users', to: 'c', share: 0.5 }
    ]
  }
  const exp = (rate: number) => (t: number) => 1 - Math.exp(-rate * t)
  const [fa, fb, fc] = [exp(100 - 30), exp(200 - 30), exp(50 - 15)]
  const cdf = (t: number) => fa(t) * fb(t) * (0.5 + 0.5 * fc(t))
  const r = simulate(design, traffic(30), { seed: 4 })
  t.equal(r.overall.percentiles, 'exact')
  for (const [key, p] of [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99]
  ] as const) {
    const exact = solve(cdf, p) * 1000
    const got = r.overall[key] as number
    t.ok(Math.abs(got - exact) <= 1e-4 * exact + 0.001, `${key} ${got} = ${exact} ms`)
  }
  // E[max] = ∫ (1 − P(max ≤ t)) dt, by the trapezoid rule on a fine grid.
  let mean = 0
  for (let i = 0; i < 400_000; i++) mean += (1 - cdf((i + 0.5) * 1e-6)) * 1e-6
  const got = r.overall.meanLatencyMs as number
  t.ok(Math.abs(got - mean * 1000) <= 1e-4 * mean * 1000, `mean ${got} = ${mean * 1000} ms`)
  t.same(simulate(design, traffic(30), { seed: 99 }).overall, r.overall, 'no figure depends on the seed')
})

t.test('exact percentiles of a path: a tandem of two M/M/1 is hypoexponential', async (t) => {
  const r = simulate(fanOut('sequential'), traffic(50), { seed: 2 })
  t.equal(r.overall.percentiles, 'exact')
  // 1 ms constant, then Exp(50) + Exp(50): an Erlang-2 of rate 50 /s.
  const cdf = (t: number) => (t < 0.001 ? 0 : 1 - (1 + 50 * (t - 0.001)) * Math.exp(-50 * (t - 0.001)))
  const exact = solve(cdf, 0.95) * 1000
  t.ok(Math.abs((r.overall.p95 as number) - exact) <= 1e-4 * exact, `p95 ${r.overall.p95} = ${exact} ms`)
})

t.test('where a station has no exact law the percentiles are Monte-Carlo, and the result says so', async (t) => {
  // Variable service on two servers (M/G/2): Allen–Cunneen's wait, not an exact law.
  const variable = fanOut('parallel')
  variable.components[2] = { ...variable.components[2], serviceTimeCv: 0.5, concurrency: 2 }
  t.equal(simulate(variable, traffic(50)).overall.percentiles, 'monte-carlo', 'variable service on several servers')
  const timed = { ...fanOut('parallel'), links: fanOut('parallel').links.map((l) => ({ ...l, timeoutMs: 500 })) }
  t.equal(simulate(timed, traffic(50)).overall.percentiles, 'monte-carlo', 'a timeout')
  const des = simulate(fanOut('parallel'), traffic(50), { mode: 'discrete-event', samples: 2000 })
  t.equal(des.overall.percentiles, undefined, 'the discrete-event mode has its own samples')
})

t.test('the discrete-event mode agrees with the exact figures of a fan-out with a non-trivial branch', async (t) => {
  // api calls a, b (2 ms away, then a replicated database) and, half the time, an external API,
  // at once. At these loads the branches fed the same arrivals are nearly independent.
  const design: Design = {
    components: [
      users,
      { id: 'api', type: 'service', instances: 2, concurrency: 2, serviceTimeMs: 4, calls: 'parallel' },
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 3 },
      { id: 'b', type: 'service', instances: 2, concurrency: 2, serviceTimeMs: 10 },
      { id: 'db', type: 'database', instances: 1, concurrency: 4, serviceTimeMs: 6, replicas: 1 },
      { id: 'ext', type: 'external', instances: 1, concurrency: 50, serviceTimeMs: 15, delay: true }
    ],
    links: [
      { from: 'users', to: 'api' },
      { from: 'api', to: 'a' },
      { from: 'api', to: 'b', latencyMs: 2 },
      { from: 'api', to: 'ext', share: 0.5 },
      { from: 'b', to: 'db' }
    ]
  }
  const profile: TrafficProfile = { peakRps: 60, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }
  const exact = simulate(design, profile)
  t.equal(exact.overall.percentiles, 'exact')
  const des = simulate(design, profile, { mode: 'discrete-event', samples: 300_000, replications: 15, seed: 11 })
  const { meanLatencyMs: mean, p95 } = des.confidence as NonNullable<typeof des.confidence>
  const e95 = exact.overall.p95 as number
  const eMean = exact.overall.meanLatencyMs as number
  t.ok(e95 >= p95.low && e95 <= p95.high, `p95 ${e95} in [${p95.low}, ${p95.high}]`)
  t.ok(eMean >= mean.low && eMean <= mean.high, `mean ${eMean} in [${mean.low}, ${mean.high}]`)
})
