import t from 'tap'
import { featureDesign } from '../../bench/lib/context.ts'
import { positions } from '../../src/domain/layout.ts'
import type { Design } from '../../src/domain/model.ts'

/** Pairs of links whose straight lines (centre to centre) cross, links sharing an end aside. */
function crossings(design: Design): number {
  const at = positions(design)
  const segments = design.links.map((l) => [at.get(l.from), at.get(l.to), l] as const)
  const side = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) =>
    Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))
  let count = 0
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const [p, q, a] = segments[i]
      const [r, s, b] = segments[j]
      if (!p || !q || !r || !s || [a.from, a.to].some((id) => id === b.from || id === b.to)) continue
      if (
        side(p.x, p.y, q.x, q.y, r.x, r.y) * side(p.x, p.y, q.x, q.y, s.x, s.y) < 0 &&
        side(r.x, r.y, s.x, s.y, p.x, p.y) * side(r.x, r.y, s.x, s.y, q.x, q.y) < 0
      )
        count++
    }
  }
  return count
}

const service = (id: string) => ({ id, type: 'service' as const, instances: 1, concurrency: 1, serviceTimeMs: 1 })

t.test('components without a place are stacked in layers that keep links uncrossed', async (t) => {
  // Listed in the order that crosses: a calls the second database, b the first.
  const design: Design = {
    components: [
      { id: 'users', type: 'client' } as Design['components'][number],
      ...['a', 'b', 'db1', 'db2'].map(service)
    ],
    links: [
      { from: 'users', to: 'a' },
      { from: 'users', to: 'b' },
      { from: 'a', to: 'db2' },
      { from: 'b', to: 'db1' }
    ]
  }
  const at = positions(design)
  t.equal(crossings(design), 0, 'no link crosses another')
  t.ok((at.get('db2')?.y ?? 0) < (at.get('db1')?.y ?? 0), 'db2 sits level with a, its caller')
  t.equal(at.get('db1')?.x, at.get('db2')?.x, 'one layer per distance from the client')
  // A stored place is kept as it is.
  const placed = { ...design, components: design.components.map((c) => (c.id === 'b' ? { ...c, x: 7, y: 9 } : c)) }
  t.same(positions(placed).get('b'), { x: 7, y: 9 })
})

t.test('the every-feature design is laid out without a crossing', async (t) => {
  // Stacked in design order, 30 of these components crossed 9 pairs of links (and 50, 15).
  for (const n of [30, 50]) t.equal(crossings(featureDesign(n)), 0, `${n} components`)
})
