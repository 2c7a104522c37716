import t from 'tap'
import { applyDesignChange, diffDesign } from '../../src/domain/design-change.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import type { DesignDocument } from '../../src/domain/schemas.ts'

const base = SAMPLE_DESIGN as DesignDocument

t.test('a patch carries only what changed, and applying it gives the edited design', async (t) => {
  const moved: DesignDocument = {
    ...base,
    components: base.components.map((c) => (c.id === 'api' ? { ...c, x: 300, y: 40 } : c))
  }
  const patch = diffDesign(base, moved)
  t.same(patch, { components: [{ ...base.components[2], x: 300, y: 40 }] }, 'a move: that component only')
  t.same(applyDesignChange(base, patch), moved)
  t.same(diffDesign(base, base), {}, 'nothing changed, nothing sent')
})

t.test('removed, added and renamed components, and new links', async (t) => {
  const next: DesignDocument = {
    components: [
      ...base.components.filter((c) => c.id !== 'cache').map((c) => (c.id === 'db' ? { ...c, id: 'primary' } : c)),
      { id: 'queue', type: 'queue', instances: 1, concurrency: 1, serviceTimeMs: 1 }
    ],
    links: [
      { from: 'users', to: 'lb', share: 1 },
      { from: 'lb', to: 'api', share: 1 },
      { from: 'api', to: 'primary', share: 1 }
    ]
  }
  const patch = diffDesign(base, next)
  t.same(patch.removed, ['cache', 'db'])
  t.same(
    patch.components?.map((c) => c.id),
    ['primary', 'queue']
  )
  const applied = applyDesignChange(base, patch)
  t.same(applied.components.map((c) => c.id).sort(), next.components.map((c) => c.id).sort(), 'the same components')
  t.same(applied.links, next.links)
  t.ok(JSON.stringify(patch).length < JSON.stringify(next).length, 'smaller than the design')
})
