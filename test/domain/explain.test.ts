import t, { type Test } from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import { explainComponent, explainOverall } from '../../src/domain/explain.ts'
import type { ComponentDerivation, StationDerivation } from '../../src/domain/explain-schemas.ts'
import { mdcWait } from '../../src/domain/mdc.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import { renderReport } from '../../src/domain/report.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { reportInput } from '../helpers/reports.ts'

// Every kind of derivation, its final number recomputed here from its own steps (the test's own
// arithmetic: Erlang C, the M/M/c/K sums, the weighted means), and checked against the run.

const SEED = 11
const traffic = (peakRps: number, p: Partial<TrafficProfile> = {}): TrafficProfile => ({
  peakRps,
  readRatio: 0.8,
  payloadKb: 4,
  latencySloMs: 300,
  ...p
})
const users = { id: 'users', type: 'client' } as Component
const one = (c: Partial<Component>): Design => ({
  components: [users, { id: 'a', type: 'service', instances: 2, concurrency: 4, serviceTimeMs: 10, ...c }],
  links: [{ from: 'users', to: 'a' }]
})

const near = (t: Test, actual: number | null, expected: number, msg: string, tolerance = 1e-3) =>
  t.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${msg}: ${actual} ≈ ${expected}`
  )

const step = (d: StationDerivation, symbol: string) => {
  const s = d.steps.find((x) => x.symbol === symbol)
  if (!s) throw new Error(`no step ${symbol} in ${d.station}`)
  return s.value as number
}

/** The test's own Erlang C. */
function erlangC(c: number, a: number): number {
  let term = 1
  let sum = 1
  for (let k = 1; k < c; k++) {
    term *= a / k
    sum += term
  }
  const last = (term * a) / c / (1 - a / c)
  return last / (sum + last)
}

/** Redoes a queue station's arithmetic from its steps; returns the sojourn it implies. */
function redo(t: Test, d: StationDerivation): number {
  const lambda = step(d, 'λ')
  const terms = d.steps.find((s) => s.symbol === 'λ₀')?.terms ?? []
  if (terms.length > 0)
    near(
      t,
      step(d, 'λ₀'),
      terms.reduce((sum, x) => sum + x.value, 0),
      `${d.station}: λ₀ is the sum of its sources`
    )
  const S = step(d, 'S')
  const q = step(d, 'q')
  const mu = step(d, 'μ')
  const c = step(d, 'c')
  near(t, mu, 1000 / S, `${d.station}: μ = 1000 / S`)
  near(t, step(d, 'a'), lambda / q / mu, `${d.station}: a = (λ / q) / μ`)
  near(t, step(d, 'ρ'), step(d, 'a') / c, `${d.station}: ρ = a / c`)
  const k = step(d, 'k')
  const pw = step(d, 'Pw')
  const exactMdc = d.steps.find((x) => x.symbol === 'Wq')?.formula.includes('M/D/c')
  if (d.waitMethod === 'erlang_c') {
    near(t, pw, erlangC(c, step(d, 'a')), `${d.station}: Pw = Erlang C(c, a)`, 1e-4)
    if (exactMdc) {
      // Crommelin's number waiting, checked in test/domain/mdc.test.ts; here Little's law on it.
      const wait = mdcWait(step(d, 'a'), c)
      near(t, step(d, 'Wq'), (wait?.meanWait ?? Number.NaN) * S, `${d.station}: Wq = E[M] / (λ/q)`, 1e-5)
    } else
      near(t, step(d, 'Wq'), (pw / (c * mu - lambda / q)) * k * 1000, `${d.station}: Wq = Pw / (cμ − λ/q) × k`, 1e-3)
  }
  near(t, step(d, 'W'), step(d, 'Wq') + S, `${d.station}: W = Wq + S`)
  return step(d, 'W')
}

const component = (design: Design, p: TrafficProfile, id = 'a') =>
  explainComponent(design, p, SEED, id) as ComponentDerivation

t.test('an M/M/c station: Erlang C, the wait, the sojourn, an exact p95 — as the run has them', async (t) => {
  const design = one({})
  const p = traffic(600)
  const d = component(design, p)
  const [s] = d.stations
  t.equal(s.waitMethod, 'erlang_c')
  t.equal(s.p95Method, 'exact', 'exponential service: the p95 is solved, not sampled')
  const w = redo(t, s)
  const run = simulate(design, p, { seed: SEED }).components[0]
  near(t, w, run.meanLatencyMs as number, 'the sojourn is the run’s mean latency')
  near(t, step(s, 'p95'), run.p95LatencyMs as number, 'the p95 is the run’s')
  near(t, step(s, 'ρ'), run.utilization, 'ρ is the run’s utilisation')
})

t.test('random balancing: one queue per instance, each with λ / instances', async (t) => {
  const d = component(one({ balancing: 'random', instances: 3 }), traffic(600))
  const [s] = d.stations
  t.equal(step(s, 'q'), 3)
  t.equal(step(s, 'c'), 4, 'c is one instance’s concurrency')
  redo(t, s)
})

t.test('service variability: the wait scaled by (1 + CV²) / 2, the p95 sampled with its draw count', async (t) => {
  const d = component(one({ serviceTimeCv: 0.5 }), traffic(600))
  const [s] = d.stations
  near(t, step(s, 'k'), (1 + 0.25) / 2, 'k')
  t.equal(s.p95Method, 'sampled')
  t.equal(s.p95Samples, 4000)
  redo(t, s)
})

t.test('constant service on several servers (M/D/c): the exact mean wait, above Allen–Cunneen’s', async (t) => {
  const d = component(one({ serviceTimeCv: 0 }), traffic(720))
  const [s] = d.stations
  t.equal(s.p95Method, 'exact')
  t.match(s.steps.find((x) => x.symbol === 'Wq')?.formula, /M\/D\/c, exact/)
  const allenCunneen = (step(s, 'Pw') / (8 * 100 - 720)) * 0.5 * 1000
  t.ok(step(s, 'Wq') > allenCunneen, `Wq ${step(s, 'Wq')} above Allen–Cunneen's ${allenCunneen} at ρ 0.9`)
  redo(t, s)
})

t.test('a finite queue (M/M/c/K) and no waiting room (Erlang B): the loss beside the wait', async (t) => {
  const finite = component(one({ queueLimit: 4, instances: 1 }), traffic(450))
  t.equal(finite.stations[0].waitMethod, 'finite_queue')
  t.ok(step(finite.stations[0], 'L') > 0, 'a share is lost')
  redo(t, finite.stations[0])
  const loss = component(one({ queueLimit: 0, instances: 1 }), traffic(300))
  t.equal(loss.stations[0].waitMethod, 'erlang_b')
  t.equal(step(loss.stations[0], 'Pw'), 0, 'nobody waits')
  near(t, step(loss.stations[0], 'W'), 10, 'the sojourn is the service time')
})

t.test('a saturated station: ρ ≥ 1 and no steady-state sojourn claimed', async (t) => {
  const d = component(one({ instances: 1 }), traffic(900))
  const [s] = d.stations
  t.equal(s.waitMethod, 'saturated')
  t.equal(s.p95Method, 'saturated')
  t.ok(step(s, 'ρ') >= 1, `ρ = ${step(s, 'ρ')}`)
  t.equal(d.meanLatencyMs, null, 'the component’s mean is unbounded')
})

t.test('a pure delay: the sojourn is its service time', async (t) => {
  const d = component(one({ delay: true, serviceTimeMs: 40 }), traffic(100))
  t.equal(d.stations[0].kind, 'delay')
  t.equal(d.stations[0].steps.find((x) => x.symbol === 'W')?.value, 40)
})

t.test(
  'a database: λ from the cache’s misses and the writes, split over its copies; the component from its stations',
  async (t) => {
    const p = traffic(300, { readRatio: 0.9 })
    const d = component(SAMPLE_DESIGN, p, 'db')
    t.same(
      d.stations.map((s) => s.station),
      ['db:primary', 'db:replica-1']
    )
    // Reads: 270 a second, 20 % of them miss the cache: 54, over two copies 27 each; writes 30 to the primary.
    const [primary, replica] = d.stations
    t.equal(step(primary, 'λ₀'), 57)
    t.equal(step(replica, 'λ₀'), 27)
    t.match(primary.steps[0].terms?.map((x) => x.label).join('; '), /cache.*0\.8 hit ratio.*api.*writes/)
    const w = [primary, replica].map((s) => redo(t, s))
    const lambdas = [primary, replica].map((s) => step(s, 'λ'))
    const mean = (w[0] * lambdas[0] + w[1] * lambdas[1]) / (lambdas[0] + lambdas[1])
    near(t, d.meanLatencyMs, mean, 'the component’s mean is the λ-weighted mean of its copies')
    const run = simulate(SAMPLE_DESIGN, p, { seed: SEED }).components.find((c) => c.id === 'db')
    near(t, d.meanLatencyMs, run?.meanLatencyMs as number, 'and the run’s', 1e-3)
    t.equal(d.arrivalRps, run?.arrivalRps)
  }
)

t.test(
  'the overall figures: paths and weights, the sampled percentiles, the station that sets the ceiling',
  async (t) => {
    const p = traffic(300, { readRatio: 0.9 })
    const run = simulate(SAMPLE_DESIGN, p, { seed: SEED })
    const d = explainOverall(SAMPLE_DESIGN, p, run)
    const paths = d.paths ?? []
    t.ok(paths.length >= 3, 'the paths are listed')
    near(
      t,
      paths.reduce((sum, x) => sum + x.probability, 0),
      1,
      'their weights sum to 1'
    )
    near(
      t,
      d.analyticMeanMs,
      paths.reduce((sum, x) => sum + x.probability * (x.meanMs ?? Number.NaN), 0),
      'the analytic mean is Σ weight × path mean'
    )
    near(t, run.overall.meanLatencyMs as number, d.analyticMeanMs as number, 'the sampled mean estimates it', 0.05)
    // The percentiles: the same draws again, from the method, the sample count and the seed.
    t.match(d.percentiles, {
      method: run.overall.percentiles === 'exact' ? 'exact' : 'monte_carlo',
      samples: run.samples,
      seed: SEED
    })
    const again = simulate(SAMPLE_DESIGN, p, { seed: d.percentiles.seed, samples: d.percentiles.samples })
    t.equal(again.overall.p95, d.percentiles.p95, 'redrawing with its seed and count gives its p95')
    // The ceiling: the least capacity ÷ visit ratio.
    for (const s of d.ceiling.steps)
      near(t, s.ceilingRps, s.capacityRps / s.visitRatio, `${s.station}: capacity ÷ visits`)
    const least = d.ceiling.steps.reduce((m, s) => (s.ceilingRps < m.ceilingRps ? s : m))
    near(t, least.ceilingRps, d.ceiling.maxSustainableRps, 'the least ceiling is the maximum sustainable throughput')
    t.equal(least.station, d.ceiling.bottleneck, 'and its station the bottleneck')
  }
)

t.test('no derivation of a client or of a component the design does not have', async (t) => {
  t.equal(explainComponent(SAMPLE_DESIGN, traffic(10), SEED, 'users'), null)
  t.equal(explainComponent(SAMPLE_DESIGN, traffic(10), SEED, 'nope'), null)
})

t.test('the HTML export carries every component’s derivation as an appendix', async (t) => {
  const p = traffic(300, { readRatio: 0.9 })
  const run = simulate(SAMPLE_DESIGN, p, { seed: SEED })
  const derivations = SAMPLE_DESIGN.components.flatMap((c) => explainComponent(SAMPLE_DESIGN, p, SEED, c.id) ?? [])
  const { content } = renderReport('html', { ...reportInput('Appendix', SAMPLE_DESIGN, p, run), derivations })
  t.match(content, /<h2 id="appendix">Appendix: how the figures were computed<\/h2>/)
  for (const station of ['lb', 'api', 'cache', 'db:primary', 'db:replica-1']) t.match(content, `<h3>${station} <small>`)
  t.match(content, /<td>Pw<\/td><td>probability an arrival waits<\/td>/)
  const without = renderReport('html', reportInput('Appendix', SAMPLE_DESIGN, p, run)).content
  t.notMatch(without, /Appendix: how/, 'none without derivations')
})
