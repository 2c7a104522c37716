import t from 'tap'
import { featureDesign } from '../../bench/lib/context.ts'
import { linkOverNode, NODE_H, NODE_W, positions, tidy } from '../../src/domain/layout.ts'
import type { Design } from '../../src/domain/model.ts'
import { exercises } from '../../src/exercises/index.ts'

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

/** The first link that passes under (or within a few pixels of) a component it does not join. */
function overNode(design: Pick<Design, 'components' | 'links'>, at: Map<string, { x: number; y: number }>) {
  const hit = linkOverNode(design.links, at)
  return hit ? `${hit.link.from} → ${hit.link.to} passes under ${hit.node}` : null
}

const unplaced = (design: Pick<Design, 'components' | 'links'>) => ({
  ...design,
  components: design.components.map(({ x: _x, y: _y, ...c }) => c)
})

t.test('Tidy lays out every exercise’s reference design with no link under a component', async (t) => {
  const { list } = exercises()
  t.ok(list.length >= 13, 'every exercise loaded')
  for (const exercise of list) {
    const design = exercise.reference.design as Design
    const at = tidy(design)
    t.equal(overNode(design, at), null, exercise.slug)
    t.same(positions(unplaced(design)), at, `${exercise.slug}: an unplaced design gets the same places`)
    const boxes = [...at.values()]
    const overlap = boxes.some((a, i) =>
      boxes.some((b, j) => j > i && Math.abs(a.x - b.x) < NODE_W && Math.abs(a.y - b.y) < NODE_H)
    )
    t.notOk(overlap, `${exercise.slug}: no two components overlap`)
  }
})

t.test('a link that skips layers, or a steep one, never runs under a component', async (t) => {
  // service-2 → cache ran under service-3 when stacked by distance from the client.
  const design: Design = {
    components: [
      { id: 'users', type: 'client' } as Design['components'][number],
      ...['lb', 'service', 'service-2', 'service-3', 'cache', 'db'].map(service)
    ],
    links: [
      { from: 'users', to: 'lb' },
      { from: 'lb', to: 'service' },
      { from: 'lb', to: 'service-2' },
      { from: 'lb', to: 'service-3' },
      { from: 'service', to: 'cache' },
      { from: 'service-2', to: 'cache' },
      { from: 'service-3', to: 'db' },
      { from: 'cache', to: 'db' },
      { from: 'users', to: 'db' }
    ]
  }
  t.equal(overNode(design, tidy(design)), null)
  t.ok(overNode(design, new Map([...tidy(design)].map(([id, p]) => [id, { x: p.x, y: 40 }]))), 'the check sees one')
  for (const n of [30, 50]) {
    const d = featureDesign(n)
    t.equal(overNode(d, tidy(d)), null, `every-feature design of ${n}`)
  }
})
