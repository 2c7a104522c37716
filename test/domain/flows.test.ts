import t from 'tap'
import { propagate } from '../../src/domain/flows.ts'
import type { Design } from '../../src/domain/model.ts'
import { createRng } from '../../src/domain/random.ts'

t.test('the direct solve agrees with iterating the traffic equations on random designs with cycles', async (t) => {
  const rng = createRng(11)
  for (let trial = 0; trial < 40; trial++) {
    const n = 3 + Math.floor(rng() * 12)
    const components: Design['components'] = [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      ...Array.from({ length: n }, (_, i) => ({
        id: `c${i}`,
        type: (i % 4 === 1 ? 'cache' : 'service') as 'cache' | 'service',
        instances: 1,
        concurrency: 1,
        serviceTimeMs: 1,
        ...(i % 4 === 1 ? { hitRatio: rng() } : {})
      }))
    ]
    const links: Design['links'] = [{ from: 'users', to: 'c0', share: 1 }]
    for (let k = 0; k < n * 2; k++) {
      const from = Math.floor(rng() * n)
      const to = Math.floor(rng() * n)
      if (from === to || links.some((l) => l.from === `c${from}` && l.to === `c${to}`)) continue
      links.push({ from: `c${from}`, to: `c${to}`, share: 0.05 + rng() * 0.4, traffic: rng() < 0.2 ? 'write' : 'both' })
    }
    const design = { components, links }
    const profile = { peakRps: 100, readRatio: 0.7, payloadKb: 1, latencySloMs: 100 }
    // The reference: λ ← external + Σ share · pass · λ(from), until it settles.
    let flows = new Map(components.map((c) => [c.id, { read: 0, write: 0 }]))
    for (let i = 0; i < 5000; i++) {
      const next = new Map(
        components.map((c) => [c.id, { read: c.id === 'users' ? 70 : 0, write: c.id === 'users' ? 30 : 0 }])
      )
      for (const l of links) {
        const from = flows.get(l.from) as { read: number; write: number }
        const source = components.find((c) => c.id === l.from)
        const pass = source?.type === 'cache' ? 1 - (source.hitRatio ?? 0) : 1
        const to = next.get(l.to) as { read: number; write: number }
        if (l.traffic !== 'write') to.read += from.read * pass * (l.share ?? 1)
        to.write += from.write * (l.share ?? 1)
      }
      flows = next
    }
    const direct = propagate(design, profile)
    for (const c of components) {
      const a = direct.get(c.id) as { read: number; write: number }
      const b = flows.get(c.id) as { read: number; write: number }
      if (Math.abs(a.read - b.read) > 1e-6 * (1 + b.read) || Math.abs(a.write - b.write) > 1e-6 * (1 + b.write)) {
        t.fail(`trial ${trial}, ${c.id}: direct ${JSON.stringify(a)} vs iterated ${JSON.stringify(b)}`)
        return
      }
    }
  }
  t.pass('40 random designs agree to 1e-6')
})
