import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import { mdcWait } from '../../src/domain/mdc.ts'
import { mg1SojournCdf, mg1SojournQuantile } from '../../src/domain/mg1.ts'
import type { Design } from '../../src/domain/model.ts'

// M/D/c's exact wait (Crommelin's roots, Franx's formula) and its mean, checked against Erlang's
// M/D/1 formula and Pollaczek–Khinchine at one server and against long seeded discrete-event runs
// at four.

/** users → one station of c servers with a constant 10 ms service. */
const constant = (servers: number): Design => ({
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'svc', type: 'service', instances: 1, concurrency: servers, serviceTimeMs: 10, serviceTimeCv: 0 }
  ],
  links: [{ from: 'users', to: 'svc' }]
})
const traffic = (peakRps: number) => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })

t.test('at one server it is Erlang’s M/D/1 wait', async (t) => {
  for (const rho of [0.3, 0.7, 0.9, 0.98]) {
    const wait = mdcWait(rho, 1)
    if (!wait) throw new Error(`no M/D/1 figure at ρ ${rho}`)
    t.ok(Math.abs(wait.noWait - (1 - rho)) < 1e-12, `ρ ${rho}: P(no wait) = 1 − ρ`)
    // Pollaczek–Khinchine: E[W] = ρD / (2(1 − ρ)).
    const pk = rho / (2 * (1 - rho))
    t.ok(Math.abs(wait.meanWait - pk) < 1e-9 * Math.max(1, pk), `ρ ${rho}: mean wait ${wait.meanWait} = ${pk}`)
    for (const x of [0.5, 1, 2.5, 7]) {
      // Erlang's sum is the sojourn's CDF at x + 1 (the constant service after the wait).
      const erlang = mg1SojournCdf(x + 1, rho, 0)
      t.ok(Math.abs(wait.cdf(x) - erlang) < 1e-9, `ρ ${rho}: P(W ≤ ${x}) ${wait.cdf(x)} = ${erlang}`)
    }
    const q = mg1SojournQuantile(0.95, rho, 0) - 1
    t.ok(Math.abs(wait.quantile(0.95) - q) < 1e-6 * Math.max(1, q), `ρ ${rho}: p95 ${wait.quantile(0.95)} = ${q}`)
  }
})

t.test('four servers: the p95 and the mean wait lie in the discrete-event mode’s intervals', async (t) => {
  for (const [rps, seed] of [
    [300, 11],
    [360, 12]
  ]) {
    const analytic = simulate(constant(4), traffic(rps))
    const wait = mdcWait(rps / 100, 4)
    if (!wait) throw new Error(`no M/D/4 figure at ${rps} rps`)
    const p95 = 10 * (1 + wait.quantile(0.95))
    t.equal(
      analytic.components[0].p95LatencyMs,
      Math.round(p95 * 1000) / 1000,
      `${rps} rps: the station's p95 is exact`
    )
    const des = simulate(constant(4), traffic(rps), {
      mode: 'discrete-event',
      samples: 400_000,
      replications: 20,
      seed
    })
    const ci = des.confidence?.p95 as { low: number; high: number }
    t.ok(ci.low <= p95 && p95 <= ci.high, `${rps} rps: p95 ${p95.toFixed(3)} in [${ci.low}, ${ci.high}]`)
    // The distribution's mean, ∫ P(W > t) dt (midpoints of 1/1000 of a service), against the mode's mean sojourn.
    let mean = 0
    for (let x = 0.0005; x < 60; x += 0.001) mean += (1 - wait.cdf(x)) * 0.001
    const sojourn = 10 * (1 + mean)
    const m = des.confidence?.meanLatencyMs as { low: number; high: number }
    t.ok(m.low <= sojourn && sojourn <= m.high, `${rps} rps: mean ${sojourn.toFixed(3)} in [${m.low}, ${m.high}]`)
    // The exact mean (the number waiting's, by Little's law) is the distribution's, and the station's.
    t.ok(Math.abs(wait.meanWait - mean) < 1e-5 * Math.max(1, mean), `${rps} rps: E[W] ${wait.meanWait} = ∫ ${mean}`)
    const station = analytic.components[0].meanLatencyMs as number
    t.equal(station, Math.round(10 * (1 + wait.meanWait) * 1000) / 1000, `${rps} rps: the station's mean is exact`)
    t.ok(m.low <= station && station <= m.high, `${rps} rps: the station's mean ${station} in [${m.low}, ${m.high}]`)
    t.equal(analytic.overall.meanLatencyMs, station, 'and so is the end-to-end mean')
  }
})

t.test('no figure where the transform would cost too much, or past saturation', async (t) => {
  t.equal(mdcWait(4, 4), null, 'a = c: no steady state')
  t.equal(mdcWait(0.999 * 1000, 1000), null, 'a thousand servers at ρ 0.999: past the budget')
  t.ok(mdcWait(0.9 * 1000, 1000), 'a thousand servers at ρ 0.9: within it')
  // Past the budget the station's p95 is the sampled approximation's, still a figure.
  const busy = simulate(constant(4), traffic(399.9))
  t.ok((busy.components[0].p95LatencyMs as number) > 10, `ρ 0.99975: p95 ${busy.components[0].p95LatencyMs}`)
})
