import t from 'tap'
import { analyze, crossings } from '../../../src/domain/analysis.ts'
import { simulate } from '../../../src/domain/engine.ts'
import type { Component, Design, TrafficProfile } from '../../../src/domain/model.ts'

// Past the peak a chain can carry, the ceiling, the bottleneck and what breaks first come from the
// load offered to each station (before anything upstream sheds), and agree with the load sweep.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }

/** users → a (2 servers of 10 ms: 200 rps) → b (3 servers of 20 ms: 150 rps). */
const chain: Design = {
  components: [
    users,
    { id: 'a', type: 'service', instances: 1, concurrency: 2, serviceTimeMs: 10 },
    { id: 'b', type: 'service', instances: 1, concurrency: 3, serviceTimeMs: 20 }
  ],
  links: [
    { from: 'users', to: 'a' },
    { from: 'a', to: 'b' }
  ]
}

t.test('an overloaded chain names the station with the least capacity and its ceiling', async (t) => {
  for (const peak of [100, 300]) {
    const r = simulate(chain, traffic(peak))
    t.equal(r.overall.bottleneck, 'b', `at ${peak} rps: b (150 rps) is the bottleneck`)
    t.equal(r.overall.maxSustainableRps, 150, `at ${peak} rps: the chain carries 150 rps`)
  }
})

t.test('crossings scale the offered utilisations: b crosses 70 % at 105 rps, a at 140', async (t) => {
  const r = simulate(chain, traffic(300))
  const at = (component: string, u: number) =>
    crossings(chain, traffic(300), r).find((c) => c.component === component && c.utilization === u)?.rps
  t.equal(at('b', 0.7), 105)
  t.equal(at('b', 1), 150)
  t.equal(at('a', 0.7), 140)
  t.equal(at('a', 1), 200)
  t.equal(crossings(chain, traffic(300), r)[0].component, 'b', 'b breaks first')
})

t.test('the sweep loses requests exactly past the ceiling the run names', async (t) => {
  const r = simulate(chain, traffic(300))
  const { sweep, breaksFirst } = analyze(chain, traffic(300), r)
  const ceiling = r.overall.maxSustainableRps
  for (const p of sweep) {
    if (p.rps < ceiling) t.equal(p.errorRate, 0, `${p.rps} rps, below the ceiling: no errors`)
    else if (p.rps > ceiling * 1.001) t.ok(p.errorRate > 0, `${p.rps} rps, past the ceiling: errors`)
  }
  const full = breaksFirst.find((c) => c.utilization === 1)
  t.equal(full?.rps, ceiling, 'the first 100 % crossing is the ceiling')
})

t.test('crossings read unrounded utilisations: a lightly loaded database is not 10 % off', async (t) => {
  // The database carries 100 000 rps; at 12.3 rps its utilisation is 0.000123, which four
  // decimals round to 0.0001 (a 100 % crossing at 123 000 rps). A cache behind it sees 4e-6.
  const light: Design = {
    components: [
      users,
      { id: 'db', type: 'database', instances: 1, concurrency: 100, serviceTimeMs: 1 },
      { id: 'archive', type: 'service', instances: 1, concurrency: 1000, serviceTimeMs: 0.1 }
    ],
    links: [
      { from: 'users', to: 'db' },
      { from: 'db', to: 'archive', share: 0.005 }
    ]
  }
  const r = simulate(light, traffic(12.3))
  const list = crossings(light, traffic(12.3), r)
  t.equal(list.find((c) => c.component === 'db' && c.utilization === 1)?.rps, 100_000)
  // archive: 0.0615 rps over 10 000 000 rps of capacity, below 0.00005.
  t.equal(list.find((c) => c.component === 'archive' && c.utilization === 1)?.rps, 2_000_000_000)
})
