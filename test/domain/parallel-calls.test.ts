import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import { validateDesign } from '../../src/domain/validate.ts'

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
