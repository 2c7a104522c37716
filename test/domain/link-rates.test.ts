import t from 'tap'
import { linkRates } from '../../src/domain/flows.ts'
import type { Design } from '../../src/domain/model.ts'
import { previewDesign } from '../../src/domain/preview.ts'

// What each link carries: its source's arrivals of the classes it carries, times what the source
// passes on (a cache its misses), times its share; the preview reports it for the canvas.

const s = (id: string, type: string, extra: object = {}) =>
  ({ id, type, instances: 4, concurrency: 8, serviceTimeMs: 5, ...extra }) as Design['components'][number]

t.test('each link’s request rate follows splits, cache misses and the classes it carries', async (t) => {
  const design: Design = {
    components: [
      { id: 'users', type: 'client' } as Design['components'][number],
      s('lb', 'load_balancer'),
      s('a', 'service'),
      s('b', 'service'),
      s('cache', 'cache', { hitRatio: 0.8 }),
      s('db', 'database', { replicas: 1 })
    ],
    links: [
      { from: 'users', to: 'lb' },
      { from: 'lb', to: 'a', share: 0.25 },
      { from: 'lb', to: 'b', share: 0.75 },
      { from: 'a', to: 'cache', traffic: 'read' },
      { from: 'b', to: 'cache', traffic: 'read' },
      { from: 'cache', to: 'db', traffic: 'read' },
      { from: 'a', to: 'db', traffic: 'write' },
      { from: 'b', to: 'db', traffic: 'write' }
    ]
  }
  const traffic = { peakRps: 1000, readRatio: 0.9, payloadKb: 1, latencySloMs: 200 }
  const rate = Object.fromEntries(linkRates(design, traffic).map((l) => [`${l.from}->${l.to}`, l.rps]))
  t.same(rate, {
    'users->lb': 1000,
    'lb->a': 250,
    'lb->b': 750,
    'a->cache': 225,
    'b->cache': 675,
    'cache->db': 180,
    'a->db': 25,
    'b->db': 75
  })
  const preview = previewDesign(design, traffic, 5_000_000)
  t.same(preview.links, linkRates(design, traffic), 'the preview carries them')
  const doubled = linkRates(design, { ...traffic, peakRps: 2000 })
  t.equal(doubled[0].rps, 2000, 'twice the traffic, twice the rate')
})
