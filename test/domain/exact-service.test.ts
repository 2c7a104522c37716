import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import { mdcWait } from '../../src/domain/mdc.ts'
import { mg1SojournCdf, mg1SojournQuantile } from '../../src/domain/mg1.ts'
import type { Design, TrafficProfile } from '../../src/domain/model.ts'
import { QUANTILES, singleStation, solve, users } from '../helpers/quantiles.ts'

// Exact end-to-end percentiles with non-exponential service: M/G/1 (constant or gamma service, one
// server a queue) and M/D/c stations composed on the lattice, against their closed forms.
//
// Tolerance: the lattice's step h is 1/4 095 of its range, which holds every station's tail to
// e^(−20): about 4 to 12 times a single station's p99 here, so h is 1/1 000 to 1/300 of the p99. A
// quantile is read off between two points, exact where the law is linear between them and off by
// a small share of a step (second order) where it curves; the closed forms are good to 1e-6 or
// better at these CVs. So: 1e-4 of the figure plus 1e-4 of the p99 (a tenth of a step or less),
// plus the result's rounding to 1 µs. A biased tail (wrap-around, a lost residual mass) or a
// misplaced service is off by far more.
const within = (got: number, exact: number, p99: number) => Math.abs(got - exact) <= 1e-4 * (exact + p99) + 5e-4

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })

t.test('one M/G/1 station: constant, CV 0.5 and CV 2 service give the exact sojourn percentiles', async (t) => {
  for (const cv of [0, 0.5, 2]) {
    // At ρ 0.3 an M/D/1's median is its service exactly (70 % do not wait): an atom, read within a step.
    for (const rho of cv === 0 ? [0.7, 0.9] : [0.3, 0.7, 0.9]) {
      const r = simulate(singleStation(cv), traffic(rho * 100))
      t.equal(r.overall.percentiles, 'exact', `CV ${cv}, ρ ${rho}: exact`)
      const p99 = mg1SojournQuantile(0.99, rho, cv) * 10
      for (const [key, q] of QUANTILES) {
        const exact = mg1SojournQuantile(q, rho, cv) * 10
        const got = r.overall[key] as number
        t.ok(within(got, exact, p99), `CV ${cv}, ρ ${rho}: ${key} ${got} = ${exact.toFixed(4)} ms`)
      }
      // Pollaczek–Khinchine's mean, by linearity: 10 (1 + ρ(1 + CV²) / (2(1 − ρ))) ms.
      const mean = 10 * (1 + (rho * (1 + cv * cv)) / (2 * (1 - rho)))
      t.ok(Math.abs((r.overall.meanLatencyMs as number) - mean) <= 1e-3, `mean ${r.overall.meanLatencyMs} = ${mean}`)
    }
  }
  // The constant service of those who do not wait: within half a step of 10 ms.
  const light = simulate(singleStation(0), traffic(30))
  t.ok(Math.abs((light.overall.p50 as number) - 10) <= 0.01, `M/D/1 at ρ 0.3: p50 ${light.overall.p50} ≈ 10 ms`)
})

t.test('random balancing over one-server instances is M/G/1 at each', async (t) => {
  // Two instances of one server, 120 rps spread at random: two M/G/1 of ρ 0.6 each.
  const r = simulate(singleStation(2, 1, { instances: 2, balancing: 'random' }), traffic(120))
  t.equal(r.overall.percentiles, 'exact')
  const p99 = mg1SojournQuantile(0.99, 0.6, 2) * 10
  for (const [key, q] of QUANTILES) {
    const exact = mg1SojournQuantile(q, 0.6, 2) * 10
    t.ok(within(r.overall[key] as number, exact, p99), `${key} ${r.overall[key]} = ${exact}`)
  }
})

t.test('one M/D/3 station gives the percentiles of Crommelin’s wait plus the service', async (t) => {
  for (const rho of [0.8, 0.95]) {
    const r = simulate(singleStation(0, 3), traffic(rho * 300))
    t.equal(r.overall.percentiles, 'exact', `ρ ${rho}: exact`)
    const wait = mdcWait(rho * 3, 3)
    if (!wait) throw new Error(`no M/D/3 figure at ρ ${rho}`)
    const p99 = (1 + wait.quantile(0.99)) * 10
    for (const [key, q] of QUANTILES) {
      const exact = (1 + wait.quantile(q)) * 10
      const got = r.overall[key] as number
      t.ok(within(got, exact, p99), `ρ ${rho}: ${key} ${got} = ${exact.toFixed(4)} ms`)
    }
  }
})

/** Each quantile's mean over seeded Monte-Carlo runs, and four standard errors from their spread. */
function drawn(design: Design, profile: TrafficProfile, runs: number, samples: number) {
  const results = Array.from({ length: runs }, (_, i) =>
    simulate(design, profile, { exact: false, samples, seed: 100 + i })
  )
  return Object.fromEntries(
    QUANTILES.map(([key]) => {
      if (results[0].overall.percentiles !== 'monte-carlo') throw new Error('the samples were not drawn')
      const xs = results.map((r) => r.overall[key] as number)
      const mean = xs.reduce((a, b) => a + b, 0) / runs
      const se = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (runs - 1) / runs)
      return [key, { mean, band: 4 * se }]
    })
  ) as Record<(typeof QUANTILES)[number][0], { mean: number; band: number }>
}

t.test('a tandem of an M/D/1 and an M/M/1 agrees with long seeded Monte-Carlo runs within their noise', async (t) => {
  // users → a (constant 10 ms) → b (exponential 5 ms) at 60 rps: ρ 0.6 and 0.3. The sampler draws
  // both sojourns exactly in law (the M/D/1's wait as its geometric sum of residual services).
  const design: Design = {
    components: [
      users,
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10, serviceTimeCv: 0 },
      { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 5 }
    ],
    links: [
      { from: 'users', to: 'a' },
      { from: 'a', to: 'b' }
    ]
  }
  const exact = simulate(design, traffic(60))
  t.equal(exact.overall.percentiles, 'exact')
  // Twelve runs of 100 000 paths: each quantile's mean over them, and four standard errors from
  // their spread (Student's t at 11 degrees of freedom: beyond it once in 500).
  const samples = drawn(design, traffic(60), 12, 100_000)
  for (const [key] of QUANTILES) {
    const got = exact.overall[key] as number
    const { mean, band } = samples[key]
    t.ok(Math.abs(got - mean) <= band, `${key} ${got} vs ${mean.toFixed(3)} ± ${band.toFixed(3)} ms`)
    t.ok(band < 0.012 * mean, `${key}: the runs pin it to ${((band / 4 / mean) * 100).toFixed(2)} %`)
  }
})

/** A design of M/G/1 stations behind a cache, parallel calls, a replicated database, network time and a gamma delay. */
const mixed: Design = {
  components: [
    users,
    {
      id: 'api',
      type: 'service',
      instances: 2,
      concurrency: 1,
      serviceTimeMs: 4,
      serviceTimeCv: 0,
      balancing: 'random',
      calls: 'parallel'
    },
    { id: 'cache', type: 'cache', instances: 1, concurrency: 1, serviceTimeMs: 1, serviceTimeCv: 2, hitRatio: 0.7 },
    { id: 'db', type: 'database', instances: 1, concurrency: 1, serviceTimeMs: 6, serviceTimeCv: 0.5, replicas: 1 },
    { id: 'ext', type: 'external', instances: 1, concurrency: 1, serviceTimeMs: 15, serviceTimeCv: 1.5, delay: true }
  ],
  links: [
    { from: 'users', to: 'api' },
    { from: 'api', to: 'cache' },
    { from: 'cache', to: 'db' },
    { from: 'api', to: 'ext', share: 0.5, latencyMs: 3 }
  ]
}

t.test('M/G/1 stations behind a cache, parallel calls and network time agree with the samples', async (t) => {
  // api (two M/D/1, random balancing) calls a cache (CV 2) whose read misses reach a replicated
  // database (CV 0.5, writes to its primary) and, at once, half the time, an external API (a gamma
  // delay of CV 1.5) 3 ms away.
  const profile: TrafficProfile = { ...traffic(300), readRatio: 0.8 }
  const exact = simulate(mixed, profile)
  t.equal(exact.overall.percentiles, 'exact')
  const samples = drawn(mixed, profile, 8, 50_000)
  for (const [key] of QUANTILES) {
    const got = exact.overall[key] as number
    const { mean, band } = samples[key]
    t.ok(Math.abs(got - mean) <= band, `${key} ${got} vs ${mean.toFixed(3)} ± ${band.toFixed(3)} ms`)
  }
})

t.test('parallel calls to M/G/1 stations: the product of the closed-form sojourn CDFs', async (t) => {
  // users call a (CV 2, 10 ms), b (constant 5 ms) and, half the time, c (CV 0.5, 20 ms) at once,
  // at 30 rps: ρ 0.3, 0.15 and 0.3. P(max ≤ t) = F_a(t) F_b(t) (1/2 + F_c(t)/2).
  const design: Design = {
    components: [
      { ...users, calls: 'parallel' },
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10, serviceTimeCv: 2 },
      { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 5, serviceTimeCv: 0 },
      { id: 'c', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 20, serviceTimeCv: 0.5 }
    ],
    links: [
      { from: 'users', to: 'a' },
      { from: 'users', to: 'b' },
      { from: 'users', to: 'c', share: 0.5 }
    ]
  }
  const cdf = (ms: number) =>
    mg1SojournCdf(ms / 10, 0.3, 2) * mg1SojournCdf(ms / 5, 0.15, 0) * (0.5 + 0.5 * mg1SojournCdf(ms / 20, 0.3, 0.5))
  const r = simulate(design, traffic(30))
  t.equal(r.overall.percentiles, 'exact')
  const p99 = solve(cdf, 0.99)
  for (const [key, q] of QUANTILES) {
    const exact = solve(cdf, q)
    const got = r.overall[key] as number
    t.ok(within(got, exact, p99), `${key} ${got} = ${exact.toFixed(4)} ms`)
  }
  t.same(simulate(design, traffic(30), { seed: 9 }).overall, r.overall, 'no figure depends on the seed')
})

t.test('bursty arrivals, a finite queue or variable service on several servers stay Monte-Carlo', async (t) => {
  t.equal(simulate(singleStation(0.5, 2), traffic(100)).overall.percentiles, 'monte-carlo', 'M/G/2 of CV 0.5')
  t.equal(simulate(singleStation(2, 4), traffic(100)).overall.percentiles, 'monte-carlo', 'M/G/4 of CV 2')
  t.equal(
    simulate(singleStation(0), { ...traffic(50), arrivalCv: 1.5 }).overall.percentiles,
    'monte-carlo',
    'bursty arrivals to a constant service'
  )
  t.equal(simulate(singleStation(0, 3, { queueLimit: 5 }), traffic(200)).overall.percentiles, 'monte-carlo', 'M/D/3/8')
  t.equal(simulate(singleStation(0.5, 1, { queueLimit: 5 }), traffic(50)).overall.percentiles, 'monte-carlo', 'M/G/1/6')
  // M/D/c within 0.1 % of saturation is past its transform's budget: drawn, not composed.
  t.equal(simulate(singleStation(0, 4), traffic(399.9)).overall.percentiles, 'monte-carlo', 'M/D/4 at ρ 0.99975')
})

t.test('a delay of gamma service is exact: its sojourn is the service', async (t) => {
  // A gamma of CV 0.5 (shape 4, mean 10 ms): P(S ≤ t) by its series, apart from the engine.
  const design = singleStation(0.5, 1, { delay: true })
  const r = simulate(design, traffic(100))
  t.equal(r.overall.percentiles, 'exact')
  const erlang4 = (ms: number) => {
    const x = ms / 2.5
    return 1 - Math.exp(-x) * (1 + x + (x * x) / 2 + (x * x * x) / 6)
  }
  const p99 = solve(erlang4, 0.99)
  for (const [key, q] of QUANTILES) {
    const exact = solve(erlang4, q)
    t.ok(within(r.overall[key] as number, exact, p99), `${key} ${r.overall[key]} = ${exact}`)
  }
})
