import fc from 'fast-check'
import t, { type Test } from 'tap'
import { analyticMeanLatencyMs, requestPaths, simulate } from '../../../src/domain/engine.ts'
import { grade } from '../../../src/domain/grading.ts'
import type { Component, Design, Link, TrafficProfile } from '../../../src/domain/model.ts'
import { erlangB } from '../../../src/domain/queueing.ts'
import { renderReport } from '../../../src/domain/report.ts'
import { validateDesign } from '../../../src/domain/validate.ts'
import { reportInput } from '../../helpers/reports.ts'

// Shed load that stops where it is shed, pure delays, network time on links, and a client that
// needs only an id and a type: each against its closed form.

const traffic = (peakRps: number, payloadKb = 4): TrafficProfile => ({
  peakRps,
  readRatio: 1,
  payloadKb,
  latencySloMs: 300
})

const close = (t: Test, actual: number | null, expected: number, tolerance: number, msg: string) =>
  t.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(expected), 1e-300),
    `${msg}: ${actual} ≈ ${expected} (±${tolerance})`
  )

const users = { id: 'users', type: 'client' } as Component
const svc = (id: string, fields: Partial<Component> = {}): Component => ({
  id,
  type: 'service',
  instances: 1,
  concurrency: 1,
  serviceTimeMs: 10,
  ...fields
})
/** users → a → b, each an M/M/1 of 10 ms unless told. */
const chain = (a: Partial<Component>, b: Partial<Component> = {}, link: Partial<Link> = {}): Design => ({
  components: [users, svc('a', a), svc('b', b)],
  links: [
    { from: 'users', to: 'a' },
    { from: 'a', to: 'b', ...link }
  ]
})
/** users → a single service. */
const single = (fields: Partial<Component>, instances = fields.instances ?? 1): Design => ({
  components: [users, svc('a', { ...fields, instances })],
  links: [{ from: 'users', to: 'a' }]
})
const byId = (r: ReturnType<typeof simulate>, id: string) =>
  r.components.find((c) => c.id === id) as ReturnType<typeof simulate>['components'][number]

t.test('a saturated station passes exactly its capacity on: the stations after it see no more', async (t) => {
  // a serves 100 rps (one server, 10 ms); 150 rps are offered.
  const r = simulate(chain({}, { instances: 2 }), traffic(150), { seed: 1 })
  const a = byId(r, 'a')
  const b = byId(r, 'b')
  t.ok(a.saturated)
  t.equal(a.arrivalRps, 150, 'a is offered everything')
  t.equal(b.arrivalRps, 100, 'b receives only what a passes: its capacity')
  t.equal(b.utilization, 0.5, 'b at 100 rps of its 200')
  close(t, r.overall.errorRate, 1 / 3, 1e-4, 'a sheds a third (to the five decimals reported)')
  t.equal(r.overall.bottleneck, 'a')
})

t.test('a finite queue loses exactly Erlang B, and the next station sees λ(1 − B)', async (t) => {
  // a: 3 servers of 10 ms, no waiting room; 200 rps offered is a load of 2 Erlangs.
  const r = simulate(chain({ concurrency: 3, queueLimit: 0 }, { concurrency: 4 }), traffic(200), { seed: 2 })
  const loss = erlangB(3, 2)
  close(t, byId(r, 'a').lossRate, loss, 1e-4, 'a loses B(3, 2)')
  close(t, byId(r, 'b').arrivalRps, 200 * (1 - loss), 1e-5, 'b sees what a keeps')
  close(t, r.overall.errorRate, loss, 1e-4, 'the error rate is the loss')
  // A chain of two lossy stations: the second's loss is at its reduced load, and the losses compound.
  const two = simulate(chain({ concurrency: 3, queueLimit: 0 }, { concurrency: 2, queueLimit: 0 }), traffic(200))
  const second = erlangB(2, (200 * (1 - loss)) / 100)
  close(t, byId(two, 'b').lossRate, second, 1e-4, 'b loses B(2, λ_b/μ) at the load it sees')
  close(t, two.overall.errorRate, 1 - (1 - loss) * (1 - second), 1e-4, 'the losses compound')
})

t.test('shed load in a feedback loop settles at its fixed point', async (t) => {
  // a → b, and b sends 30 % of its requests back to a; a is saturated.
  const design: Design = {
    components: [users, svc('a', { concurrency: 2 }), svc('b', { concurrency: 4 })],
    links: [
      { from: 'users', to: 'a' },
      { from: 'a', to: 'b' },
      { from: 'b', to: 'a', share: 0.3 }
    ]
  }
  const r = simulate(design, traffic(180))
  // a passes its capacity (200 rps) on; b receives it all; a receives 180 + 0.3 × b.
  const a = byId(r, 'a')
  const b = byId(r, 'b')
  close(t, b.arrivalRps, 200, 1e-6, 'b receives a’s capacity')
  close(t, a.arrivalRps, 180 + 0.3 * 200, 1e-6, 'a receives the clients and the loop')
})

t.test('a pure delay never queues: its sojourn is its service time at any load', async (t) => {
  const design = chain({}, { type: 'external', serviceTimeMs: 120, delay: true })
  const r = simulate(design, traffic(80), { seed: 3 })
  const ext = byId(r, 'b')
  t.equal(ext.utilization, 0)
  t.equal(ext.meanLatencyMs, 120)
  t.notOk(ext.saturated, 'one instance of concurrency 1 at 80 rps of 120 ms: no queue at all')
  t.equal(r.overall.bottleneck, 'a', 'a delay is never the bottleneck')
  t.equal(r.overall.maxSustainableRps, 100, 'nor does it set the ceiling')
  // Mean end to end: M/M/1 at ρ = 0.8 (50 ms) + 120 ms.
  close(t, analyticMeanLatencyMs(design, traffic(80)), 50 + 120, 1e-12, 'analytic mean')
  close(t, r.overall.meanLatencyMs, 170, 0.03, 'Monte-Carlo mean')
})

t.test('network time: latency plus the payload at the link’s bandwidth, per traversal', async (t) => {
  const plain = chain({ concurrency: 4 }, { concurrency: 4 })
  const remote = chain({ concurrency: 4 }, { concurrency: 4 }, { latencyMs: 75, bandwidthMbps: 8 })
  // 16 kB at 8 Mbit/s: 128 kbit / 8000 kbit/s = 16 ms, plus 75 ms.
  const extra = analyticMeanLatencyMs(remote, traffic(100, 16)) - analyticMeanLatencyMs(plain, traffic(100, 16))
  close(t, extra, 91, 1e-12, 'the analytic mean grows by 75 + 16 ms')
  const a = simulate(plain, traffic(100, 16), { seed: 4 })
  const b = simulate(remote, traffic(100, 16), { seed: 4 })
  close(t, (b.overall.p50 as number) - (a.overall.p50 as number), 91, 0.05, 'the median moves by the network time')
  close(t, (b.overall.meanLatencyMs as number) - (a.overall.meanLatencyMs as number), 91, 0.03, 'and the mean')
  t.same(
    b.components.map((c) => c.id),
    ['a', 'b'],
    'a link is not a component in the results'
  )
  // Latency alone uses the default 1000 Mbit/s for the payload.
  const defaultBandwidth =
    analyticMeanLatencyMs(chain({}, {}, { latencyMs: 5 }), traffic(10, 125)) -
    analyticMeanLatencyMs(chain({}, {}), traffic(10, 125))
  close(t, defaultBandwidth, 5 + 1, 1e-12, '125 kB at 1000 Mbit/s is 1 ms')
  // The discrete-event mode agrees.
  const des = simulate(remote, traffic(100, 16), { mode: 'discrete-event', seed: 5, samples: 40_000 })
  close(t, des.overall.meanLatencyMs, analyticMeanLatencyMs(remote, traffic(100, 16)), 0.05, 'discrete-event mean')
  const paths = requestPaths(remote, traffic(100, 16))
  t.equal(paths?.length, 1)
  t.same([...(paths?.[0].stations ?? [])].sort(), ['a', 'a->b', 'b'], 'the link is a stop on the path')
})

t.test('a client needs only an id and a type; every other component its capacity', async (t) => {
  t.same(validateDesign(chain({})), [], 'users is { id, type } only')
  const missing = chain({})
  const { instances: _i, ...withoutInstances } = missing.components[1]
  missing.components[1] = withoutInstances as Component
  t.same(validateDesign(missing), [
    { path: '/components/1/instances', message: 'is required (of every component but a client)' }
  ])
  const bad: Design = {
    components: [{ ...users, delay: true }, svc('a')],
    links: [{ from: 'users', to: 'a', latencyMs: -1, bandwidthMbps: 0 }]
  }
  t.same(
    validateDesign(bad).map((p) => p.path),
    ['/components/0/delay', '/links/0/latencyMs', '/links/0/bandwidthMbps']
  )
})

t.test('a queue’s consumers: the lag when they keep up, the backlog’s growth when they do not', async (t) => {
  const design = (workers: number): Design => ({
    components: [
      users,
      svc('api', { concurrency: 8 }),
      { id: 'jobs', type: 'queue', instances: 1, concurrency: 100, serviceTimeMs: 1 },
      { id: 'workers', type: 'worker', instances: workers, concurrency: 1, serviceTimeMs: 50 }
    ],
    links: [
      { from: 'users', to: 'api' },
      { from: 'api', to: 'jobs' },
      { from: 'jobs', to: 'workers' }
    ]
  })
  // 60 messages a second; each worker takes 20 a second.
  const keeping = simulate(design(4), traffic(60))
  const queue = keeping.components.find((c) => c.id === 'jobs')
  const workers = byId(keeping, 'workers')
  t.equal(queue?.backlog?.growthPerSecond, 0, 'four workers keep up')
  t.equal(queue?.backlog?.consumersUtilization, 0.75)
  t.equal(queue?.backlog?.lagMs, workers.meanLatencyMs, 'the lag is the workers’ sojourn')
  t.equal(keeping.overall.errorRate, 0)
  const behind = simulate(design(2), traffic(60))
  const late = behind.components.find((c) => c.id === 'jobs')
  t.equal(late?.backlog?.growthPerSecond, 20, 'two workers take 40 of 60 a second: 20 pile up')
  t.equal(late?.backlog?.lagMs, null, 'and the lag grows without bound')
  t.equal(behind.overall.errorRate, 0, 'no request fails: the work waits')
})

t.test('timeouts and retries: the load below a link is the fixed point λ′ = λ(1 − f^(R+1))/(1 − f)', async (t) => {
  // users → a, an M/M/1 of 10 ms: its sojourn is exponential with rate μ − λ′, so at the load
  // λ′ the retries make, an attempt times out with f(λ′) = exp(−(μ − λ′) T).
  const mu = 100
  const lambda = 50
  const design = (timeoutMs: number, retries?: number): Design => ({
    components: [users, svc('a')],
    links: [{ from: 'users', to: 'a', timeoutMs, ...(retries === undefined ? {} : { retries }) }]
  })
  const f = (load: number, timeoutMs: number) => Math.exp(-(mu - load) * (timeoutMs / 1000))
  /** The fixed point, directly: bisection on λ(1 − f^(R+1))/(1 − f) − λ′. */
  const fixedPoint = (timeoutMs: number, retries: number) => {
    let lo = lambda
    let hi = mu - 1e-9
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2
      const share = f(mid, timeoutMs)
      const offered = (lambda * (1 - share ** (retries + 1))) / (1 - share)
      if (offered > mid) lo = mid
      else hi = mid
    }
    return lo
  }

  const once = simulate(design(20), traffic(lambda), { seed: 11 })
  const expectedF = f(lambda, 20)
  t.equal(byId(once, 'a').arrivalRps, lambda, 'no retries: the load is unchanged')
  close(t, once.links?.[0].timeoutShare ?? -1, expectedF, 0.05, 'f = e^(−(μ−λ)T)')
  close(t, once.links?.[0].failedShare ?? -1, expectedF, 0.05, 'and every timeout is an error')
  close(t, once.overall.errorRate, expectedF, 0.05, 'in errorRate')
  t.ok((once.overall.p99 as number) <= 20, `a timed-out attempt returns no latency: p99 ${once.overall.p99} ≤ 20 ms`)

  const load = fixedPoint(40, 1)
  const share = f(load, 40)
  const retried = simulate(design(40, 1), traffic(lambda), { seed: 12 })
  close(t, byId(retried, 'a').arrivalRps, load, 0.02, `the retries' fixed point λ′ = ${load.toFixed(2)}`)
  close(t, retried.links?.[0].retryAmplification ?? -1, 1 + share, 0.02, 'attempts per request 1 + f')
  close(t, retried.links?.[0].timeoutShare ?? -1, share, 0.08, 'f at λ′')
  close(t, retried.overall.errorRate, share ** 2, 0.2, 'errors: both attempts timed out, f²')
  t.ok(
    (retried.overall.p99 as number) <= 80,
    `a success takes at most two timeouts: p99 ${retried.overall.p99} ≤ 80 ms`
  )

  // A tight timeout with retries is a retry storm: the attempts push a past its capacity.
  const storm = simulate(design(20, 2), traffic(lambda), { seed: 13 })
  t.ok(byId(storm, 'a').saturated, 'three attempts at most, a saturates')
  t.ok((storm.links?.[0].retryAmplification ?? 0) > 2, 'nearly every attempt times out')
  t.ok(storm.overall.errorRate > 0.5, `most requests fail: ${storm.overall.errorRate}`)
  t.throws(
    () => simulate(design(40, 1), traffic(lambda), { mode: 'discrete-event' }),
    /does not model timeouts/,
    'the discrete-event mode says it does not model them'
  )
})

t.test('timeouts and retries are validated', async (t) => {
  const link = (fields: Partial<Link>): Design => ({
    components: [users, svc('a')],
    links: [{ from: 'users', to: 'a', ...fields }]
  })
  t.same(validateDesign(link({ timeoutMs: 100, retries: 3 })), [])
  t.same(validateDesign(link({ retries: 2 })), [
    { path: '/links/0/retries', message: 'retries need a timeoutMs (a retry follows a timeout)' }
  ])
  t.same(
    validateDesign(link({ timeoutMs: 0, retries: 1.5 })).map((p) => p.path),
    ['/links/0/timeoutMs', '/links/0/retries']
  )
  const many: Design = {
    components: [users, ...Array.from({ length: 21 }, (_, i) => svc(`s${i}`))],
    links: Array.from({ length: 21 }, (_, i) => ({ from: 'users', to: `s${i}`, timeoutMs: 50 }))
  }
  t.same(validateDesign(many), [{ path: '/links', message: 'at most 20 links with a timeout' }])
})

t.test('timeouts show in the grade and in every report format', async (t) => {
  const design: Design = {
    components: [users, svc('a', { instances: 2 })],
    links: [{ from: 'users', to: 'a', timeoutMs: 25, retries: 1 }]
  }
  const profile = traffic(60)
  const result = simulate(design, profile, { seed: 21 })
  const graded = grade(design, profile, result)
  const errors = graded.items.find((i) => i.id === 'zero_errors')
  t.notOk(errors?.passed)
  t.match(errors?.finding, /of attempts from users to a time out and [\d.]+% fail after their retries/)
  t.same(errors?.components, ['a'])
  const input = reportInput('Timeouts', design, profile, result, graded)
  t.match(renderReport('markdown', input).content, /### Timeouts and retries\n\n\| link \| attempts timed out/)
  t.match(renderReport('markdown', input).content, /\| users → a \| [\d.]+% \| [\d.]+× \| [\d.]+% \|/)
  t.match(renderReport('html', input).content, /<h3>Timeouts and retries<\/h3><table>/)
  t.match(renderReport('json', input).content, /"retryAmplification"/)
})

t.test('the discrete-event mode’s replications: each analytic figure lies in its 95 % interval', async (t) => {
  const cases: [string, Design, number, number | null][] = [
    // name, design, peak rps, exact p95 (ms) where there is a closed form
    ['M/M/1 at ρ 0.8', single({}), 80, Math.log(20) * 50],
    ['M/D/1 at ρ 0.8 (CV 0, Pollaczek–Khinchine)', single({ serviceTimeCv: 0 }), 80, null],
    ['M/G/1 at ρ 0.6 (CV 2, Pollaczek–Khinchine)', single({ serviceTimeCv: 2 }), 60, null],
    ['two instances balanced at random at ρ 0.8', single({ balancing: 'random' }, 2), 160, Math.log(20) * 50],
    ['M/M/1/K with 3 waiting places at ρ 0.9', single({ queueLimit: 3 }), 90, null]
  ]
  for (const [name, design, rps, p95] of cases) {
    const result = simulate(design, traffic(rps), {
      mode: 'discrete-event',
      seed: 31,
      samples: 100_000,
      replications: 20
    })
    const ci = result.confidence
    if (!ci) throw new Error('no interval')
    t.equal(ci.replications, 20)
    const mean = analyticMeanLatencyMs(design, traffic(rps))
    t.ok(
      ci.meanLatencyMs.low <= mean && mean <= ci.meanLatencyMs.high,
      `${name}: mean ${mean.toFixed(2)} ms within [${ci.meanLatencyMs.low}, ${ci.meanLatencyMs.high}]`
    )
    if (p95 !== null)
      t.ok(
        ci.p95.low <= p95 && p95 <= ci.p95.high,
        `${name}: p95 ${p95.toFixed(2)} ms within [${ci.p95.low}, ${ci.p95.high}]`
      )
    t.ok(ci.meanLatencyMs.high - ci.meanLatencyMs.low < 0.15 * mean, `${name}: an interval that says something`)
  }
  // The warm-up follows the busiest station: longer near saturation.
  const calm = simulate(single({}), traffic(30), { mode: 'discrete-event', samples: 20_000 }).confidence
  const busy = simulate(single({}), traffic(95), { mode: 'discrete-event', samples: 20_000 }).confidence
  t.equal(calm?.warmupRequests, 100, 'ρ 0.3: the minimum')
  t.equal(busy?.warmupRequests, 2000, 'ρ 0.95: the cap, all a replication records (20 / 0.05² = 8000)')
})

t.test('property: a station’s p95 never falls as its service time grows, whatever its other fields', async (t) => {
  fc.assert(
    fc.property(
      fc.record({
        instances: fc.integer({ min: 1, max: 4 }),
        concurrency: fc.integer({ min: 1, max: 8 }),
        cv: fc.constantFrom(0, 0.5, 1, 2),
        balancing: fc.constantFrom('pooled', 'random'),
        queueLimit: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        load: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        step: fc.double({ min: 1.01, max: 1.5, noNaN: true })
      }),
      ({ instances, concurrency, cv, balancing, queueLimit, load, step }) => {
        const capacityAt10ms = instances * concurrency * 100
        const p95 = (serviceTimeMs: number) =>
          byId(
            simulate(
              single({ instances, concurrency, serviceTimeCv: cv, balancing, queueLimit, serviceTimeMs }),
              traffic(load * capacityAt10ms),
              { samples: 100 }
            ),
            'a'
          ).p95LatencyMs ?? Number.POSITIVE_INFINITY
        return p95(10) <= p95(10 * step) + 1e-9
      }
    ),
    { seed: 41, numRuns: 150 }
  )
  t.pass('monotone over 150 random stations')
})
