import fc from 'fast-check'
import t, { type Test } from 'tap'
import { analyticMeanLatencyMs, propagate, quantiles, requestPaths, simulate } from '../../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../../src/domain/model.ts'
import { erlangC, stationFigures } from '../../src/domain/queueing.ts'
import { createWords, standardExponential, standardGamma, standardNormal } from '../../src/domain/random.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'

const traffic = (peakRps: number, readRatio = 0.8): TrafficProfile => ({
  peakRps,
  readRatio,
  payloadKb: 4,
  latencySloMs: 300
})

/** users → one station with c servers. */
const single = (servers: number, serviceTimeMs: number): Design => ({
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'svc', type: 'service', instances: 1, concurrency: servers, serviceTimeMs }
  ],
  links: [{ from: 'users', to: 'svc', share: 1 }]
})

const close = (t: Test, actual: number | null, expected: number, tolerance: number, msg: string) =>
  t.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance * Math.abs(expected),
    `${msg}: ${actual} ≈ ${expected} (±${tolerance * 100}%)`
  )

/** Erlang C from its textbook sum formula, independent of the recursion under test. */
function erlangCBySum(c: number, a: number): number {
  let sum = 0
  let term = 1
  for (let k = 0; k < c; k++) {
    if (k > 0) term *= a / k
    sum += term
  }
  const top = term * (a / c) * (c / (c - a))
  return top / (sum + top)
}

t.test('M/M/1: mean sojourn 1/(μ−λ) and p95 ln(20)/(μ−λ)', async (t) => {
  for (const [lambda, serviceMs] of [
    [50, 10],
    [90, 10],
    [10, 50]
  ]) {
    const mu = 1000 / serviceMs
    const f = stationFigures(lambda, 1, serviceMs)
    close(t, f.meanSojournMs, (1 / (mu - lambda)) * 1000, 1e-9, `mean at λ=${lambda}`)
    close(t, f.p95SojournMs, (Math.log(20) / (mu - lambda)) * 1000, 1e-6, `p95 at λ=${lambda}`)
  }
})

t.test('Erlang C matches published values and the sum formula', async (t) => {
  close(t, erlangC(2, 1), 1 / 3, 1e-12, 'c=2, a=1')
  close(t, erlangC(1, 0.7), 0.7, 1e-12, 'c=1: Pw = ρ')
  // Published call-centre table: 10 agents, 8 Erlangs → about 40.9 % wait.
  close(t, erlangC(10, 8), 0.4092, 0.001, 'c=10, a=8')
  for (const [c, a] of [
    [5, 3],
    [20, 15],
    [50, 49],
    [100, 60]
  ]) {
    close(t, erlangC(c, a), erlangCBySum(c, a), 1e-9, `c=${c}, a=${a}`)
  }
})

t.test("Little's law holds at every station", async (t) => {
  for (const [lambda, c, serviceMs] of [
    [30, 1, 20],
    [300, 8, 20],
    [900, 10, 10]
  ]) {
    const mu = 1000 / serviceMs
    const rho = lambda / (c * mu)
    const f = stationFigures(lambda, c, serviceMs)
    // L = λW, and for M/M/c L = a + Pw·ρ/(1−ρ).
    const inSystem = lambda / mu + (f.waitProbability * rho) / (1 - rho)
    close(t, (lambda * f.meanSojournMs) / 1000, inSystem, 1e-9, `λ=${lambda}, c=${c}`)
  }
})

t.test('Monte-Carlo percentiles of M/M/1 match the closed forms', async (t) => {
  // λ = 60, μ = 100: the sojourn is Exp(μ − λ), so p50 = ln 2/40 s, p95 = ln 20/40 s, p99 = ln 100/40 s.
  const { overall } = simulate(single(1, 10), traffic(60), { seed: 3 })
  close(t, overall.p50, (Math.log(2) / 40) * 1000, 0.03, 'p50')
  close(t, overall.p95, (Math.log(20) / 40) * 1000, 0.03, 'p95')
  close(t, overall.p99, (Math.log(100) / 40) * 1000, 0.05, 'p99')
})

t.test('a path through 80 stations (fan-out) agrees with the analytic mean', async (t) => {
  const fanOut: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      ...Array.from({ length: 80 }, (_, i) => ({
        id: `s${i}`,
        type: 'service' as const,
        instances: 1,
        concurrency: 4,
        serviceTimeMs: 2
      }))
    ],
    links: Array.from({ length: 80 }, (_, i) => ({ from: 'users', to: `s${i}`, share: 1 }))
  }
  const profile = traffic(500)
  const mc = simulate(fanOut, profile, { seed: 5, samples: 4000 })
  close(t, mc.overall.meanLatencyMs, analyticMeanLatencyMs(fanOut, profile), 0.05, 'mean over 80 stations')
})

t.test('quantile selection gives the nearest-rank values of a full sort', async (t) => {
  const qs = [0.5, 0.95, 0.99]
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 400 }), (values) => {
      const sorted = [...values].sort((a, b) => a - b)
      const expected = qs.map((q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)])
      const actual = quantiles(Float64Array.from(values), qs)
      return actual.every((v, i) => v === expected[i])
    }),
    { seed: 11, numRuns: 500 }
  )
  t.same(quantiles(new Float64Array(0), qs), [0, 0, 0], 'no samples → zeros')
})

t.test('utilisation rises monotonically with load', async (t) => {
  let previous = -1
  for (let rps = 50; rps <= 1000; rps += 50) {
    const api = simulate(SAMPLE_DESIGN, traffic(rps), { samples: 200 }).components.find((c) => c.id === 'api')
    t.ok((api?.utilization ?? -1) > previous, `at ${rps} rps`)
    previous = api?.utilization ?? previous
  }
})

t.test('maxSustainableRps is where the first station reaches ρ = 1', async (t) => {
  const result = simulate(SAMPLE_DESIGN, traffic(400), { samples: 1000 })
  const max = result.overall.maxSustainableRps
  // api: 3 × 8 servers at 50/s each = 1200 rps, and every request passes it.
  close(t, max, 1200, 1e-6, 'the api ceiling')
  const atMax = simulate(SAMPLE_DESIGN, traffic(max), { samples: 1000 })
  const busiest = Math.max(...atMax.components.map((c) => c.utilization))
  close(t, busiest, 1, 1e-3, 'utilisation at the ceiling')
  const below = simulate(SAMPLE_DESIGN, traffic(max * 0.99), { samples: 1000 })
  t.ok(
    below.components.every((c) => !c.saturated),
    'nothing saturates just below it'
  )
})

t.test('the discrete-event mode agrees with the analytic mean within 5 %', async (t) => {
  const designs: [string, Design, TrafficProfile][] = [
    ['sample three-tier at 600 rps', SAMPLE_DESIGN, traffic(600)],
    ['M/M/1 at ρ = 0.6', single(1, 10), traffic(60)],
    ['M/M/4 at ρ = 0.75', single(4, 20), traffic(150)]
  ]
  for (const [name, design, profile] of designs) {
    const analytic = analyticMeanLatencyMs(design, profile)
    const des = simulate(design, profile, { mode: 'discrete-event', seed: 42, samples: 60_000 })
    close(t, des.overall.meanLatencyMs, analytic, 0.05, name)
    const mc = simulate(design, profile, { seed: 42, samples: 40_000 })
    close(t, mc.overall.meanLatencyMs, analytic, 0.05, `${name} (Monte-Carlo)`)
  }
})

t.test('saturated designs report saturation and an error rate, never NaN or Infinity', async (t) => {
  const result = simulate(SAMPLE_DESIGN, traffic(5000), { samples: 5000 })
  const api = result.components.find((c) => c.id === 'api')
  t.equal(api?.saturated, true)
  t.ok(result.overall.errorRate > 0.5, `error rate ${result.overall.errorRate}`)
  // (5000 − 1200) / 5000 of requests are shed at the api (and a few more at the database primary).
  close(t, result.overall.errorRate, 3800 / 5000, 0.05, 'shed fraction')
  // One saturated station passes exactly its capacity: 250 rps offered to 100 rps of service.
  const one = simulate(single(1, 10), traffic(250), { samples: 5000 })
  t.equal(one.overall.errorRate, 0.6)
  t.equal(one.overall.maxSustainableRps, 100)
  t.equal(one.overall.throughputRps, 100, 'throughput is the capacity, not a sample of it')
  const text = JSON.stringify(result)
  t.notMatch(text, /NaN|Infinity|undefined/)
  t.equal(result.overall.p95, null, 'the p95 is unbounded (null), not a number')
  const walk = (v: unknown): boolean =>
    typeof v === 'number' ? Number.isFinite(v) : v && typeof v === 'object' ? Object.values(v).every(walk) : true
  t.ok(walk(result), 'every number is finite')
  t.throws(() => simulate(SAMPLE_DESIGN, traffic(5000), { mode: 'discrete-event' }), /stable design/)
})

t.test('same input and seed give identical output; another seed differs where the percentiles are drawn', async (t) => {
  const a = simulate(SAMPLE_DESIGN, traffic(700), { seed: 7 })
  const b = simulate(SAMPLE_DESIGN, traffic(700), { seed: 7 })
  t.same(a, b)
  t.equal(a.overall.percentiles, 'exact')
  t.same(simulate(SAMPLE_DESIGN, traffic(700), { seed: 8 }), { ...a, seed: 8 }, 'exact figures: the seed plays no part')
  // Variable service on the api: its percentiles are drawn.
  const drawn = {
    ...SAMPLE_DESIGN,
    components: SAMPLE_DESIGN.components.map((c) => (c.id === 'api' ? { ...c, serviceTimeCv: 0.5 } : c))
  }
  const d = simulate(drawn, traffic(700), { seed: 7 })
  t.equal(d.overall.percentiles, 'monte-carlo')
  t.same(simulate(drawn, traffic(700), { seed: 7 }), d)
  t.not(d.overall.p99, simulate(drawn, traffic(700), { seed: 8 }).overall.p99)
})

t.test('propagation: caches absorb hits, replicas share reads, writes go to the primary', async (t) => {
  const flows = propagate(SAMPLE_DESIGN, traffic(1000, 0.8))
  close(t, flows.get('api')?.read ?? 0, 800, 1e-9, 'api reads')
  close(t, flows.get('api')?.write ?? 0, 200, 1e-9, 'api writes')
  close(t, flows.get('cache')?.read ?? 0, 800, 1e-9, 'cache sees every read')
  t.equal(flows.get('cache')?.write, 0, 'writes bypass the cache')
  const db = flows.get('db')
  close(t, db?.read ?? 0, 160, 1e-9, 'db reads are the cache misses')
  close(t, db?.write ?? 0, 200, 1e-9, 'db writes')
  const result = simulate(SAMPLE_DESIGN, traffic(1000, 0.8), { samples: 100 })
  const dbResult = result.components.find((c) => c.id === 'db')
  // Primary: 200 writes + 80 reads over 10 servers at 125/s.
  close(t, dbResult?.utilization ?? 0, 280 / 1250, 1e-3, 'primary utilisation')
  t.same(result.overall.singlePointsOfFailure, [], 'every loaded component has a copy')
})

t.test('the Monte-Carlo lists each kind of request path with its probability', async (t) => {
  const paths = requestPaths(SAMPLE_DESIGN, traffic(400, 0.8))
  const byKey = new Map(paths?.map((p) => [p.stations.join(' '), p.probability]))
  // Reads (0.8): a cache hit (0.8) stops there; a miss reads the primary or the replica (half each).
  // Writes (0.2) go to the primary. Station lists are in station order.
  const expected: [string, number][] = [
    ['lb api cache', 0.8 * 0.8],
    ['lb api cache db:primary', 0.8 * 0.2 * 0.5],
    ['lb api cache db:replica-1', 0.8 * 0.2 * 0.5],
    ['lb api db:primary', 0.2]
  ]
  t.equal(byKey.size, expected.length, [...byKey.keys()].join(' | '))
  for (const [key, p] of expected) close(t, byKey.get(key) ?? 0, p, 1e-12, key)

  // Optional links and a queue: the queue takes its hand-off, what follows it is off the path.
  const optional: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'api', type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 10 },
      { id: 'search', type: 'external', instances: 1, concurrency: 8, serviceTimeMs: 30 },
      { id: 'jobs', type: 'queue', instances: 1, concurrency: 8, serviceTimeMs: 1 },
      { id: 'worker', type: 'worker', instances: 1, concurrency: 8, serviceTimeMs: 50 }
    ],
    links: [
      { from: 'users', to: 'api', share: 1 },
      { from: 'api', to: 'search', share: 0.3 },
      { from: 'api', to: 'jobs', share: 0.5 },
      { from: 'jobs', to: 'worker', share: 1 }
    ]
  }
  const listed = new Map(requestPaths(optional, traffic(100))?.map((p) => [p.stations.join(' '), p.probability]))
  t.same([...listed.keys()].sort(), ['api', 'api jobs', 'api search', 'api search jobs'])
  close(t, listed.get('api search jobs') ?? 0, 0.3 * 0.5, 1e-12, 'both optional links')
  close(
    t,
    [...listed.values()].reduce((a, b) => a + b, 0),
    1,
    1e-12,
    'probabilities add up to 1'
  )
})

t.test('a design with too many kinds of path draws each path, and agrees with the analytic mean', async (t) => {
  // Twelve optional calls: 4 096 kinds of path, past the listing limit.
  const fan: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'api', type: 'service', instances: 4, concurrency: 8, serviceTimeMs: 5 },
      ...Array.from({ length: 12 }, (_, i) => ({
        id: `dep${i}`,
        type: 'service' as const,
        instances: 1,
        concurrency: 4,
        serviceTimeMs: 2 + i
      }))
    ],
    links: [
      { from: 'users', to: 'api', share: 1 },
      ...Array.from({ length: 12 }, (_, i) => ({ from: 'api', to: `dep${i}`, share: 0.5 }))
    ]
  }
  const profile = traffic(300)
  t.equal(requestPaths(fan, profile), null, 'too many to list')
  const drawn = simulate(fan, profile, { seed: 3, samples: 40_000 })
  close(t, drawn.overall.meanLatencyMs, analyticMeanLatencyMs(fan, profile), 0.03, 'drawn paths: mean')
  // Six of the twelve: listed, and the stratified mean agrees too.
  const six: Design = { components: fan.components.slice(0, 8), links: fan.links.slice(0, 7) }
  t.equal(requestPaths(six, profile)?.length, 64, '64 kinds of path, listed')
  const listed = simulate(six, profile, { seed: 3, samples: 40_000 })
  close(t, listed.overall.meanLatencyMs, analyticMeanLatencyMs(six, profile), 0.03, 'listed paths: mean')

  // At 1 000 rps the slower dependencies saturate (each sees 500 rps against 4 000 / (2 + i)).
  // A request passes the api, and each optional call either is not made or passes its station.
  const heavy = traffic(1000)
  const passes = (deps: number) => {
    let p = 1
    for (let i = 0; i < deps; i++) p *= 0.5 + 0.5 * Math.min(1, 4000 / (2 + i) / 500)
    return p
  }
  const listedShed = simulate(six, heavy, { seed: 3, samples: 20_000 }).overall.errorRate
  close(t, listedShed, 1 - passes(6), 1e-4, 'listed paths: the shed share is exact')
  const drawnShed = simulate(fan, heavy, { seed: 3, samples: 40_000 }).overall.errorRate
  close(t, drawnShed, 1 - passes(12), 0.03, 'drawn paths: the shed share is estimated from the samples')
})

/** n draws, with their mean and variance. */
function sample(n: number, draw: () => number) {
  const xs = Float64Array.from({ length: n }, () => draw())
  const mean = xs.reduce((a, b) => a + b, 0) / n
  return { xs, mean, variance: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n }
}

t.test('the normal ziggurat draws N(0, 1), and gamma draws have their mean and variance', async (t) => {
  const word = createWords(12)
  const n = 400_000
  const { xs, mean, variance } = sample(n, () => standardNormal(word))
  t.ok(Math.abs(mean) < 0.01, `mean ${mean}`)
  close(t, variance, 1, 0.02, 'variance')
  xs.sort()
  // Φ by its Taylor series (exact to double precision within |x| < 6, where every draw lies).
  const phi = (x: number) => {
    let term = x
    let sum = x
    for (let k = 1; k < 200; k++) {
      term *= (-x * x) / (2 * k)
      sum += term / (2 * k + 1)
    }
    return 0.5 + sum / Math.sqrt(2 * Math.PI)
  }
  let ks = 0
  for (let i = 0; i < n; i += 7) ks = Math.max(ks, Math.abs(phi(xs[i]) - (i + 1) / n))
  t.ok(ks < 1.95 / Math.sqrt(n), `KS distance ${ks}`)
  // Beyond the base layer's edge (3.44) only the tail branch draws: P(|X| > 3.6) = 2(1 − Φ(3.6)).
  const beyond = xs.filter((x) => Math.abs(x) > 3.6).length / n
  const expected = 2 * (1 - phi(3.6))
  t.ok(Math.abs(beyond - expected) < 4 * Math.sqrt(expected / n), `P(|X| > 3.6) = ${beyond}, expected ${expected}`)
  for (const shape of [1 / 9, 0.25, 4]) {
    const gamma = sample(n, () => standardGamma(word, shape))
    close(t, gamma.mean, shape, 0.02, `Gamma(${shape}) mean`)
    close(t, gamma.variance, shape, 0.08, `Gamma(${shape}) variance`)
  }
})

t.test('the ziggurat draws Exp(1): mean, variance, distribution and tail', async (t) => {
  const word = createWords(11)
  const n = 400_000
  const { xs, mean, variance } = sample(n, () => standardExponential(word))
  close(t, mean, 1, 0.01, 'mean')
  close(t, variance, 1, 0.02, 'variance')
  xs.sort()
  let ks = 0
  for (let i = 0; i < n; i++) ks = Math.max(ks, Math.abs(1 - Math.exp(-xs[i]) - (i + 1) / n))
  // Kolmogorov–Smirnov at the 0.1 % level for n = 400 000: 1.95 / √n ≈ 0.0031.
  t.ok(ks < 1.95 / Math.sqrt(n), `KS distance ${ks}`)
  // Beyond the base layer's edge (7.697) only the tail branch draws: P(X > 8) = e⁻⁸.
  const beyond = xs.filter((x) => x > 8).length / n
  t.ok(Math.abs(beyond - Math.exp(-8)) < 4 * Math.sqrt(Math.exp(-8) / n), `P(X > 8) = ${beyond}`)
  t.same(
    Array.from({ length: 5 }, () => standardExponential(createWords(42))),
    Array.from({ length: 5 }, () => standardExponential(createWords(42))),
    'same seed, same draws'
  )
})
