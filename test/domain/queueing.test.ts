import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { requestPaths, simulate } from '../../src/domain/engine.ts'
import { grade } from '../../src/domain/grading.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import {
  erlangB,
  erlangC,
  finiteQueue,
  queueFigures,
  select,
  serviceDraw,
  sojournQuantileSampled,
  stationFigures
} from '../../src/domain/queueing.ts'
import { createWords, standardExponential, uniform } from '../../src/domain/random.ts'
import { validateDesign } from '../../src/domain/validate.ts'

// Split routing, random balancing, service-time variability and finite queues, each against its
// closed form; and designs that use none of them give the golden results.

const traffic = (peakRps: number, readRatio = 1): TrafficProfile => ({
  peakRps,
  readRatio,
  payloadKb: 4,
  latencySloMs: 300
})

const close = (t: Test, actual: number | null, expected: number, tolerance: number, msg: string) =>
  t.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(expected), 1e-300),
    `${msg}: ${actual} ≈ ${expected} (±${tolerance})`
  )

const client = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 } as const

/** users → one service with the given fields. */
const one = (fields: Partial<Component>): Design => ({
  components: [client, { id: 'svc', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10, ...fields }],
  links: [{ from: 'users', to: 'svc', share: 1 }]
})

/** users → lb → a | b (two M/M/1 targets). */
const balanced = (lb: Partial<Component> = {}, shares = [0.5, 0.5]): Design => ({
  components: [
    client,
    { id: 'lb', type: 'load_balancer', instances: 1, concurrency: 1000, serviceTimeMs: 0.01, ...lb },
    { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 },
    { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 }
  ],
  links: [
    { from: 'users', to: 'lb', share: 1 },
    { from: 'lb', to: 'a', share: shares[0] },
    { from: 'lb', to: 'b', share: shares[1] }
  ]
})

t.test('a load balancer splits: each request takes exactly one target', async (t) => {
  const paths = requestPaths(balanced(), traffic(50)) ?? []
  close(
    t,
    paths.reduce((sum, p) => sum + p.probability, 0),
    1,
    1e-12,
    'path probabilities sum to 1'
  )
  t.notOk(
    paths.some((p) => p.stations.includes('a') && p.stations.includes('b')),
    'no path visits both targets of one split'
  )
  t.same(
    paths.map((p) => [p.stations.join(' '), p.probability]).sort(),
    [
      ['lb a', 0.5],
      ['lb b', 0.5]
    ],
    'half to each'
  )
  // Two M/M/1 targets at 50 req/s each (μ = 100): each sojourn is Exp(50/s), p95 = ln 20 / 50 s.
  const split = simulate(balanced(), traffic(100), { seed: 3, samples: 40_000 })
  close(t, split.overall.p95, (Math.log(20) / 50) * 1000 + 0.01, 0.03, 'p95 of the exclusive split (≈ 60 ms)')
  const calls = simulate(balanced({ routing: 'calls' }), traffic(100), { seed: 3, samples: 40_000 })
  t.ok(
    (calls.overall.p95 as number) > (split.overall.p95 as number) * 1.1,
    `calls (${calls.overall.p95}) is not a split (${split.overall.p95})`
  )
  close(t, split.overall.meanLatencyMs, calls.overall.meanLatencyMs as number, 0.05, 'means agree either way (linear)')
  // The sampler draws the same split when there are too many kinds of path to list.
  const discrete = simulate(balanced(), traffic(100), { seed: 3, samples: 60_000, mode: 'discrete-event' })
  close(t, discrete.overall.p95, split.overall.p95 as number, 0.08, 'the discrete-event mode splits too')
})

t.test('a split whose shares do not add up to 1 is a 422 problem naming the component', async (t) => {
  const problems = validateDesign(balanced({}, [0.5, 0.3]))
  t.match(problems, [{ path: '/components/1', message: /lb splits its reads .* add up to 0\.8/ }])
  t.same(validateDesign(balanced({ routing: 'calls' }, [0.5, 0.3])), [], 'calls routing takes any shares')
  t.match(validateDesign(one({ routing: 'round' as never })), [{ path: '/components/1/routing' }])
  t.match(validateDesign(one({ balancing: 'sticky' as never })), [{ path: '/components/1/balancing' }])
  t.match(validateDesign(one({ serviceTimeCv: -1 })), [{ path: '/components/1/serviceTimeCv' }])
  t.match(validateDesign(one({ queueLimit: -1 })), [{ path: '/components/1/queueLimit' }])
  t.match(validateDesign(one({ queueLimit: 1.5 })), [{ path: '/components/1/queueLimit' }])
  const noShare: Design = { ...one({}), links: [{ from: 'users', to: 'svc' }] }
  t.same(validateDesign(noShare), [], 'a link without share means share 1')
})

t.test('Pollaczek–Khinchine: M/D/1 waits exactly half of M/M/1; M/G/1 exactly λE[S²]/2(1−ρ)', async (t) => {
  for (const rho of [0.3, 0.6, 0.9]) {
    const lambda = rho * 100
    const exp = queueFigures(lambda, { queues: 1, servers: 1, serviceTimeMs: 10, cv: 1, limit: null })
    const det = queueFigures(lambda, { queues: 1, servers: 1, serviceTimeMs: 10, cv: 0, limit: null })
    close(t, det.meanSojournMs - 10, (exp.meanSojournMs - 10) / 2, 1e-12, `M/D/1 at ρ=${rho}`)
    for (const cv of [0.5, 2, 3]) {
      const s = 0.01
      const second = s * s * (1 + cv * cv)
      const g = queueFigures(lambda, { queues: 1, servers: 1, serviceTimeMs: 10, cv, limit: null })
      close(t, (g.meanSojournMs - 10) / 1000, (lambda * second) / (2 * (1 - rho)), 1e-9, `M/G/1 cv=${cv} ρ=${rho}`)
    }
  }
  // Allen–Cunneen for several servers: Erlang C × (1 + CV²)/2.
  const c4 = queueFigures(300, { queues: 1, servers: 4, serviceTimeMs: 10, cv: 2, limit: null })
  close(t, c4.meanSojournMs - 10, ((erlangC(4, 3) / (400 - 300)) * 1000 * (1 + 4)) / 2, 1e-12, 'M/G/4')
})

t.test('M/M/c/K: loss and wait exact against the state probabilities; queueLimit 0 is Erlang B', async (t) => {
  /** Birth–death state probabilities summed directly. */
  const direct = (c: number, a: number, limit: number, mu: number) => {
    const q: number[] = [1]
    for (let n = 1; n <= c + limit; n++) q.push((q[n - 1] * a) / Math.min(n, c))
    const total = q.reduce((x, y) => x + y, 0)
    const p = q.map((x) => x / total)
    const loss = p[c + limit]
    const lq = p.reduce((sum, pn, n) => sum + Math.max(0, n - c) * pn, 0)
    const wait = p.slice(c, c + limit).reduce((x, y) => x + y, 0) / (1 - loss)
    return { loss, waitProbability: wait, meanWait: lq / (a * mu * (1 - loss)) }
  }
  for (const [c, a, limit] of [
    [1, 0.8, 5],
    [4, 3, 10],
    [4, 6, 3],
    [10, 10, 20],
    [3, 2, 0]
  ]) {
    const exact = direct(c, a, limit, 100)
    const got = finiteQueue(c, a, 100, limit)
    close(t, got.loss, exact.loss, 1e-9, `loss c=${c} a=${a} L=${limit}`)
    close(t, got.waitProbability + 1e-300, exact.waitProbability + 1e-300, 1e-9, `wait probability c=${c} a=${a}`)
    close(t, got.meanWait + 1e-300, exact.meanWait + 1e-300, 1e-9, `mean wait c=${c} a=${a} L=${limit}`)
  }
  close(t, finiteQueue(5, 4, 100, 0).loss, erlangB(5, 4), 1e-12, 'queueLimit 0 is Erlang B')
  // Over capacity, a finite queue is stable and loses what it cannot hold.
  const over = simulate(one({ queueLimit: 5 }), traffic(200), { seed: 2, samples: 20_000 })
  const expected = finiteQueue(1, 2, 100, 5).loss
  close(t, over.overall.errorRate, expected, 1e-4, 'its losses are the error rate')
  close(t, over.components[0].lossRate, expected, 1e-4, 'and the component reports them')
  t.notOk(over.components[0].saturated, 'not saturated: it sheds instead of queueing forever')
  const item = grade(one({ queueLimit: 5 }), traffic(200), over).items.find((i) => i.id === 'zero_errors')
  t.match(item, { passed: false, finding: /svc turns away 50\.\d% of its arrivals when its queue is full/ })
})

t.test('random balancing is c independent queues; pooled is one', async (t) => {
  const random = queueFigures(350, { queues: 4, servers: 1, serviceTimeMs: 10, cv: 1, limit: null })
  const mm1 = stationFigures(350 / 4, 1, 10)
  close(t, random.meanSojournMs, mm1.meanSojournMs, 1e-12, 'each instance an M/M/1 with λ/4')
  const design = one({ instances: 4, concurrency: 1, balancing: 'random' })
  const r = simulate(design, traffic(350), { seed: 5 })
  const p = simulate(one({ instances: 4, concurrency: 1 }), traffic(350), { seed: 5 })
  close(t, r.components[0].meanLatencyMs, 80, 1e-3, 'ρ = 0.875: 10/(1 − 0.875) = 80 ms at random')
  t.ok((p.components[0].meanLatencyMs as number) < 30, `pooled waits far less (${p.components[0].meanLatencyMs} ms)`)
  const des = simulate(design, traffic(350), { seed: 5, samples: 120_000, mode: 'discrete-event' })
  close(
    t,
    des.overall.meanLatencyMs,
    r.overall.meanLatencyMs as number,
    0.1,
    'the discrete-event mode balances at random too'
  )
  const rr = simulate(design, traffic(350), { seed: 5, samples: 120_000, mode: 'discrete-event', roundRobin: true })
  t.ok(
    (rr.overall.meanLatencyMs as number) < (des.overall.meanLatencyMs as number),
    'round robin waits less than random'
  )
})

t.test('a sampled sojourn quantile is its mixture’s, at any CV, wait share and scale', async (t) => {
  // Against an independent sample 50 times larger (the 4 000 draws' own noise is a few per cent).
  for (const [s, cv, pw, w] of [
    [5, 0.5, 0, 0],
    [5, 2, 0.3, 12],
    [0.2, 0.5, 0.9, 1],
    [40, 3, 0.05, 400]
  ]) {
    const word = createWords(7)
    const n = 200_000
    const draws = Float64Array.from({ length: n }, () => {
      const x = serviceDraw(word, s, cv)
      return uniform(word) < pw ? x + standardExponential(word) * w : x
    }).sort()
    close(
      t,
      sojournQuantileSampled(0.95, s, cv, pw, w),
      draws[Math.ceil(0.95 * n) - 1],
      0.06,
      `s ${s}, CV ${cv}, pw ${pw}`
    )
  }
  // Without a wait the quantile scales with the service time; it is a function of its arguments.
  close(t, sojournQuantileSampled(0.95, 10, 2, 0, 0), 2 * sojournQuantileSampled(0.95, 5, 2, 0, 0), 1e-12, 'scales')
  t.equal(sojournQuantileSampled(0.95, 5, 2, 0.3, 12), sojournQuantileSampled(0.95, 5, 2, 0.3, 12))
  // The selection agrees with a sort, ties and all.
  const word = createWords(3)
  for (const length of [1, 2, 7, 100, 4000]) {
    const values = Float64Array.from({ length }, () => Math.floor(uniform(word) * 20))
    const sorted = Float64Array.from(values).sort()
    for (const k of [0, length >> 1, Math.ceil(0.95 * length) - 1, length - 1]) {
      const copy = Float64Array.from(values)
      select(copy, k, 0, length - 1)
      t.equal(copy[k], sorted[k], `rank ${k} of ${length}`)
    }
  }
})

t.test('the discrete-event mode confirms variability and finite queues', async (t) => {
  for (const cv of [0, 2]) {
    const design = one({ serviceTimeCv: cv })
    const analytic = simulate(design, traffic(60), { seed: 9 })
    const des = simulate(design, traffic(60), { seed: 9, samples: 150_000, mode: 'discrete-event' })
    close(t, des.overall.meanLatencyMs, analytic.overall.meanLatencyMs as number, 0.08, `M/G/1 mean, cv=${cv}`)
    close(t, analytic.overall.meanLatencyMs, 10 + (60 * 0.0001 * (1 + cv * cv) * 1000) / (2 * 0.4), 0.03, 'P-K')
  }
  const limited = one({ queueLimit: 3 })
  const des = simulate(limited, traffic(90), { seed: 4, samples: 100_000, mode: 'discrete-event' })
  close(t, des.overall.errorRate, finiteQueue(1, 0.9, 100, 3).loss, 0.1, 'losses of M/M/1/4 by simulation')
})

t.test('designs without splits, variability or finite queues give the golden results', async (t) => {
  const golden = JSON.parse(await readFile(new URL('./fixtures/engine-golden.json', import.meta.url), 'utf8'))
  for (const [key, expected] of Object.entries(golden.results) as [string, { mode: string }][]) {
    const [name, mode] = key.split('/')
    // One replication: the discrete-event mode's single run, as the golden results were made.
    const result = simulate(golden.designs[name], golden.traffic, {
      seed: 7,
      samples: 5000,
      mode: mode as never,
      replications: 1
    })
    const { components, ...rest } = result
    const { components: expectedComponents, ...expectedRest } = expected as typeof result
    t.same(rest, expectedRest, `${key}: overall figures`)
    t.same(
      // Every figure is the golden one; lossRate and a queue's backlog are not in the golden results.
      components.map(({ lossRate: _, backlog: __, ...c }) => c),
      expectedComponents,
      `${key}: per component`
    )
  }
})

t.test('a remembered path enumeration never answers for a changed design', async (t) => {
  // The same structure but a different split: the mix of paths (and so the mean) must follow it.
  const even = balanced({}, [0.5, 0.5])
  const skewed = balanced({}, [0.9, 0.1])
  const first = simulate(even, traffic(80), { seed: 3 })
  const other = simulate(skewed, traffic(80), { seed: 3 })
  const again = simulate(even, traffic(80), { seed: 3 })
  t.same(again, first, 'the same design gives the same result, remembered or not')
  // a gets 72 rps of its 100 (ρ = 0.72, sojourn 35.7 ms) and b 8 (ρ = 0.08, 10.9 ms).
  close(t, other.overall.meanLatencyMs, 0.9 * (10 / 0.28) + 0.1 * (10 / 0.92), 0.05, 'the skewed split’s mean')
  t.not(other.overall.meanLatencyMs, first.overall.meanLatencyMs)
})

t.test('what-ifs may leave out the components’ percentiles and keep every other figure', async (t) => {
  const design = one({ serviceTimeCv: 0.5, instances: 2 })
  const full = simulate(design, traffic(120), { seed: 5 })
  const lean = simulate(design, traffic(120), { seed: 5, componentPercentiles: false })
  t.same(lean.overall, full.overall, 'the overall figures are the same')
  t.ok(Number.isNaN(lean.components[0].p95LatencyMs), 'the component’s p95 is left out')
  t.ok((full.components[0].p95LatencyMs as number) > 0)
  t.same({ ...lean.components[0], p95LatencyMs: 0 }, { ...full.components[0], p95LatencyMs: 0 })
})
