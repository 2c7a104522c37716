import t from 'tap'
import { analyze, atLeast, designAvailability } from '../../src/domain/analysis.ts'
import { simulate } from '../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'

// Availability that knows capacity: a copy is up while at least k of its n instances are, k the
// fewest that keep its utilisation below 1 at peak. Checked against the binomial sums by hand.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
/** users → three instances of 100 rps each, 99.9 % available. */
const three: Design = {
  components: [
    users,
    { id: 'svc', type: 'service', instances: 3, concurrency: 1, serviceTimeMs: 10, availability: 0.999 }
  ],
  links: [{ from: 'users', to: 'svc' }]
}
const a = 0.999

t.test('three instances all needed at ρ 0.9 are as available as all three up, not 1 − 10⁻⁹', async (t) => {
  // 270 rps needs 3 of them (2 carry only 200).
  t.equal(designAvailability(three, traffic(270)).fraction, Math.round(a ** 3 * 1e9) / 1e9)
  // 150 rps needs 2: up while at least two are.
  t.equal(designAvailability(three, traffic(150)).fraction, Math.round((a ** 3 + 3 * a * a * (1 - a)) * 1e9) / 1e9)
  // 50 rps needs 1: any of the three.
  t.equal(designAvailability(three, traffic(50)).fraction, Math.round((1 - (1 - a) ** 3) * 1e9) / 1e9)
})

t.test('the failure scenario agrees: losing one of three at ρ 0.9 loses requests', async (t) => {
  const at270 = analyze(three, traffic(270), simulate(three, traffic(270)))
  const lost = at270.failures.find((f) => f.component === 'svc')
  t.ok((lost?.errorRate ?? 0) > 0, `one instance lost: ${lost?.errorRate} of requests fail`)
  t.equal(lost?.sloHolds, false)
  const at150 = analyze(three, traffic(150), simulate(three, traffic(150)))
  t.equal(at150.failures.find((f) => f.component === 'svc')?.errorRate, 0, 'at 150 rps two carry it')
})

t.test('the discrete-event mode shows what k-of-n assumes: one of three lost at ρ 0.9 loses the excess', async (t) => {
  // The failure scenario's figure: two instances left carry 200 of 270 rps, 1 − 200/270 of the requests fail.
  const failure = analyze(three, traffic(270), simulate(three, traffic(270))).failures.find(
    (f) => f.component === 'svc'
  )
  const expected = 1 - 200 / 270
  t.ok(Math.abs((failure?.errorRate ?? 0) - expected) < 1e-4, `failure scenario: ${failure?.errorRate} ≈ ${expected}`)
  // The discrete-event mode cannot run an unbounded queue past saturation; 200 waiting places stand
  // for it (an overloaded M/M/2/K loses 1 − 1/ρ to within ρ^−200). Independent seeded runs give
  // the loss's 95 % interval.
  const losses = (peakRps: number, instances: number, seeds: number) => {
    const design: Design = {
      ...three,
      components: [users, { ...(three.components[1] as Component), instances, queueLimit: 200 }]
    }
    const rates = Array.from(
      { length: seeds },
      (_, seed) =>
        simulate(design, traffic(peakRps), { mode: 'discrete-event', samples: 30_000, replications: 1, seed }).overall
          .errorRate
    )
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length
    if (seeds === 1) return { mean, low: mean, high: mean }
    const sd = Math.sqrt(rates.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (rates.length - 1))
    // Student's t at 5 degrees of freedom.
    const half = (2.571 * sd) / Math.sqrt(rates.length)
    return { mean, low: mean - half, high: mean + half }
  }
  const oneLost = losses(270, 2, 6)
  t.ok(
    oneLost.low <= expected && expected <= oneLost.high,
    `two of three at 270 rps lose ${expected.toFixed(4)}: in [${oneLost.low.toFixed(4)}, ${oneLost.high.toFixed(4)}]`
  )
  // The availability model counts the copy down with two of three (k = 3): it is, a quarter lost.
  t.equal(designAvailability(three, traffic(270)).fraction, Math.round(a ** 3 * 1e9) / 1e9)
  // At 150 rps k = 2: two of three carry it, and the discrete-event mode loses nothing.
  const twoCarry = losses(150, 2, 1)
  t.ok(twoCarry.high < 1e-4, `two of three at 150 rps lose ${twoCarry.mean}`)
  // All three at 270 rps carry it too (ρ 0.9): the loss comes only from losing an instance.
  const allUp = losses(270, 3, 1)
  t.ok(allUp.high < 1e-3, `three at 270 rps lose ${allUp.mean}`)
})

t.test('a database copy is instances nodes: capacity, cost and availability count so', async (t) => {
  const design: Design = {
    components: [
      users,
      {
        id: 'db',
        type: 'database',
        instances: 2,
        concurrency: 1,
        serviceTimeMs: 10,
        replicas: 1,
        availability: 0.99,
        costPerMonth: 100
      }
    ],
    links: [{ from: 'users', to: 'db' }]
  }
  // Reads split over 2 copies: 60 rps each against 2 nodes of 100 rps, so one node per copy carries it.
  const r = simulate(design, traffic(120))
  t.equal(r.components[0].utilization, 0.3, 'a copy of 2 nodes serves 200 rps')
  const { cost, availability } = analyze(design, traffic(120), r)
  t.equal(cost.perMonth, 2 * 2 * 100, 'two copies of two nodes')
  t.equal(availability.fraction, Math.round((1 - (1 - 0.99) ** 4) * 1e9) / 1e9, 'any of the 4 nodes')
  // At 300 rps each copy's 150 needs both of its nodes.
  const busy = designAvailability(design, traffic(300))
  t.equal(busy.fraction, Math.round((1 - (1 - 0.99 ** 2) ** 2) * 1e9) / 1e9, 'both nodes of either copy')
})

t.test('the binomial tail', async (t) => {
  t.ok(Math.abs(atLeast(1, 3, 0.9) - (1 - 0.1 ** 3)) < 1e-15)
  t.ok(Math.abs(atLeast(2, 3, 0.9) - (0.9 ** 3 + 3 * 0.81 * 0.1)) < 1e-15)
  t.equal(atLeast(3, 3, 1), 1)
  t.equal(atLeast(0, 4, 0.5), 1)
})
