import fc from 'fast-check'
import t from 'tap'
import { CATALOGUE } from '../../src/domain/components.ts'
import {
  addComponent,
  connect,
  type Design,
  deleteComponent,
  deleteLink,
  move,
  setField,
  starterDesign
} from '../../web/src/design.ts'
import { describeConflict, linkKey, merge, settle } from '../../web/src/merge.ts'

// The three-way merge of two tabs' designs: changes to different components or fields both
// survive; only the same field changed both ways is a conflict.

const base = (): Design => {
  let d = starterDesign(CATALOGUE)
  for (const type of ['load_balancer', 'service', 'service', 'cache', 'database'])
    d = addComponent(d, CATALOGUE, type).design
  for (const [from, to] of [
    ['users', 'load-balancer'],
    ['load-balancer', 'service'],
    ['load-balancer', 'service-2'],
    ['service', 'cache'],
    ['service-2', 'cache'],
    ['cache', 'database']
  ])
    d = connect(d, CATALOGUE, from, to)
  return d
}

const byId = (d: Design) => Object.fromEntries(d.components.map((c) => [c.id, c]))
const byLink = (d: Design) => Object.fromEntries(d.links.map((l) => [linkKey(l), l]))

t.test('two tabs changing different components both keep their change (the 8 → 7 case)', async (t) => {
  const b = setField(base(), CATALOGUE, 'service', { instances: 8 })
  const mine = setField(b, CATALOGUE, 'cache', { hitRatio: 0.9 })
  const theirs = setField(b, CATALOGUE, 'service', { instances: 7 })
  const { design, conflicts } = merge(b, mine, theirs, CATALOGUE)
  t.same(conflicts, [])
  t.equal(byId(design).service.instances, 7, 'their change to another component is kept')
  t.equal(byId(design).cache.hitRatio, 0.9, 'and mine')
  t.same(merge(b, theirs, mine, CATALOGUE).design, design, 'the same either way round')
})

t.test('the same field changed both ways is a conflict; settling it takes one side', async (t) => {
  const b = base()
  const mine = setField(b, CATALOGUE, 'service', { instances: 3, serviceTimeMs: 9 })
  const theirs = setField(b, CATALOGUE, 'service', { instances: 4, concurrency: 12 })
  const merged = merge(b, mine, theirs, CATALOGUE)
  t.same(
    merged.conflicts.map((c) => [c.kind, c.key, c.field, c.mine, c.theirs]),
    [['component', 'service', 'instances', 3, 4]]
  )
  t.match(byId(merged.design).service, { instances: 3, serviceTimeMs: 9, concurrency: 12 }, 'other fields merge')
  t.match(byId(settle(merged, 'theirs', CATALOGUE)).service, { instances: 4, serviceTimeMs: 9, concurrency: 12 })
  t.equal(settle(merged, 'mine', CATALOGUE), merged.design)
  t.equal(describeConflict(merged.conflicts[0]), 'service’s instances: yours 3, theirs 4')
  // The same value on both sides is no conflict.
  t.same(merge(b, mine, setField(b, CATALOGUE, 'service', { instances: 3 }), CATALOGUE).conflicts, [])
})

t.test('links merge too: added on both sides, a split shares evenly again; dangling links go', async (t) => {
  let b = base()
  b = addComponent(b, CATALOGUE, 'service').design // service-3
  b = addComponent(b, CATALOGUE, 'service').design // service-4
  const mine = connect(b, CATALOGUE, 'load-balancer', 'service-3')
  const theirs = connect(b, CATALOGUE, 'load-balancer', 'service-4')
  const { design, conflicts } = merge(b, mine, theirs, CATALOGUE)
  t.same(conflicts, [])
  const out = design.links.filter((l) => l.from === 'load-balancer')
  t.same(out.map((l) => l.to).sort(), ['service', 'service-2', 'service-3', 'service-4'])
  t.equal(Math.round(out.reduce((s, l) => s + (l.share ?? 1), 0) * 1e9) / 1e9, 1, 'the split still adds up to 1')
  // Theirs deletes the cache (and its links); mine moves the database: both hold, no link dangles.
  const gone = deleteComponent(b, CATALOGUE, 'cache')
  const moved = move(b, 'database', 500, 500)
  const m2 = merge(b, moved, gone, CATALOGUE)
  t.same(m2.conflicts, [])
  t.notOk(byId(m2.design).cache)
  t.match(byId(m2.design).database, { x: 500, y: 500 })
  t.notOk(
    m2.design.links.some((l) => l.from === 'cache' || l.to === 'cache'),
    'no link left to the deleted component'
  )
  // Deleted on one side, changed on the other: a conflict, which "theirs" settles by keeping it.
  const changed = setField(b, CATALOGUE, 'cache', { hitRatio: 0.5 })
  const m3 = merge(b, gone, changed, CATALOGUE)
  t.match(m3.conflicts, [{ kind: 'component', key: 'cache', field: '*' }])
  t.notOk(byId(m3.design).cache, 'mine (deleted) stands until settled')
  t.match(byId(settle(m3, 'theirs', CATALOGUE)).cache, { hitRatio: 0.5 })
  // A link field changed both ways.
  const lm = { ...b, links: b.links.map((l) => (linkKey(l) === 'cache->database' ? { ...l, latencyMs: 2 } : l)) }
  const lt = { ...b, links: b.links.map((l) => (linkKey(l) === 'cache->database' ? { ...l, latencyMs: 5 } : l)) }
  const m4 = merge(b, lm, lt, CATALOGUE)
  t.match(m4.conflicts, [{ kind: 'link', key: 'cache->database', field: 'latencyMs', mine: 2, theirs: 5 }])
  t.equal(byLink(settle(m4, 'theirs', CATALOGUE))['cache->database'].latencyMs, 5)
})

// Random edits of one design, as a tab makes them.
const edit = fc.oneof(
  fc.record({ op: fc.constant('add' as const), type: fc.constantFrom('service', 'cache', 'queue', 'database') }),
  fc.record({ op: fc.constant('field' as const), at: fc.nat(20), instances: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('move' as const), at: fc.nat(20), x: fc.nat(900), y: fc.nat(600) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(20) }),
  fc.record({ op: fc.constant('unlink' as const), at: fc.nat(20) }),
  fc.record({ op: fc.constant('link' as const), from: fc.nat(20), to: fc.nat(20) })
)
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never

function apply(d: Design, edits: Edit[]): Design {
  for (const e of edits) {
    const pick = (n: number) => d.components[n % Math.max(1, d.components.length)]
    if (e.op === 'add') d = addComponent(d, CATALOGUE, e.type).design
    else if (d.components.length === 0) continue
    else if (e.op === 'field' && pick(e.at).type !== 'client')
      d = setField(d, CATALOGUE, pick(e.at).id, { instances: e.instances })
    else if (e.op === 'move') d = move(d, pick(e.at).id, e.x, e.y)
    else if (e.op === 'delete') d = deleteComponent(d, CATALOGUE, pick(e.at).id)
    else if (e.op === 'unlink' && d.links.length > 0) d = deleteLink(d, CATALOGUE, e.at % d.links.length)
    else if (e.op === 'link') d = connect(d, CATALOGUE, pick(e.from).id, pick(e.to).id)
  }
  return d
}

const sorted = (d: Design) => ({
  components: [...d.components].sort((a, b) => a.id.localeCompare(b.id)),
  links: [...d.links].sort((a, b) => linkKey(a).localeCompare(linkKey(b)))
})

t.test('properties: one side unchanged takes the other; both the same is that; no link dangles', async (t) => {
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 8 }), fc.array(edit, { maxLength: 8 }), (a, b) => {
      const o = base()
      const mine = apply(o, a)
      const theirs = apply(o, b)
      const untouched = merge(o, mine, o, CATALOGUE)
      t.same(sorted(untouched.design), sorted(mine))
      t.same(untouched.conflicts, [])
      t.same(sorted(merge(o, o, theirs, CATALOGUE).design), sorted(theirs))
      t.same(merge(o, mine, mine, CATALOGUE), { design: mine, conflicts: [] })
      const both = merge(o, mine, theirs, CATALOGUE)
      const ids = new Set(both.design.components.map((c) => c.id))
      t.equal(ids.size, both.design.components.length, 'ids stay unique')
      t.ok(
        both.design.links.every((l) => ids.has(l.from) && ids.has(l.to)),
        'every link has both its ends'
      )
      // Without conflicts the merge is the same whichever tab's view it starts from.
      if (both.conflicts.length === 0) t.same(sorted(merge(o, theirs, mine, CATALOGUE).design), sorted(both.design))
    }),
    { numRuns: 150, seed: 39 }
  )
})
