import t from 'tap'
import { simulate } from '../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'

// A queueLimit spread over randomly balanced instances loses no waiting place: 3 places over two
// queues are 1 and 2, not 1 and 1. Checked against M/M/1/K's closed form.

const traffic: TrafficProfile = { peakRps: 160, readRatio: 1, payloadKb: 4, latencySloMs: 300 }
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
const design: Design = {
  components: [
    users,
    { id: 'svc', type: 'service', instances: 2, concurrency: 1, serviceTimeMs: 10, balancing: 'random', queueLimit: 3 }
  ],
  links: [{ from: 'users', to: 'svc' }]
}

/** M/M/1/K's loss: (1 − ρ) ρ^K / (1 − ρ^(K+1)). */
const loss = (rho: number, k: number) => ((1 - rho) * rho ** k) / (1 - rho ** (k + 1))

t.test('three waiting places over two random queues: one queue holds 1, the other 2', async (t) => {
  // Each queue gets 80 rps against 100: ρ 0.8; K = 1 + its places.
  const exact = (loss(0.8, 2) + loss(0.8, 3)) / 2
  const r = simulate(design, traffic)
  t.ok(Math.abs(r.overall.errorRate - exact) <= 1e-4, `loss ${r.overall.errorRate} ≈ ${exact}`)
  t.ok(r.overall.errorRate < loss(0.8, 2) - 0.01, 'less than with a place lost')
  const des = simulate(design, traffic, { mode: 'discrete-event', samples: 400_000, seed: 3 })
  t.ok(Math.abs(des.overall.errorRate - exact) <= 0.05 * exact, `the discrete-event mode: ${des.overall.errorRate}`)
})
