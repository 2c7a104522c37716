import t from 'tap'
import { CATALOGUE } from '../../src/domain/components.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import {
  addComponent,
  connect,
  type Design,
  deleteComponent,
  deleteLink,
  freshId,
  isFreeId,
  linkTargets,
  move,
  newComponent,
  rebalance,
  rename,
  setField,
  setLinkField,
  starterDesign,
  withLayout
} from '../../web/src/design.ts'
import { WITH_SEARCH_INDEX } from '../helpers/catalogue.ts'

// The editor's design operations, apart from the browser: each returns a new design and leaves
// the one it was given as it was.

const base = (): Design => {
  let d = starterDesign(CATALOGUE)
  for (const type of ['load_balancer', 'service', 'service', 'database']) d = addComponent(d, CATALOGUE, type).design
  return d
}
const frozen = <T>(x: T): T => {
  for (const value of Object.values(x as object)) if (typeof value === 'object' && value !== null) frozen(value)
  return Object.freeze(x)
}

t.test('a new component starts with its catalogue entry’s defaults, in a free place, with a fresh id', async (t) => {
  const d = frozen(base())
  t.same(
    d.components.map((c) => c.id),
    ['users', 'load-balancer', 'service', 'service-2', 'database']
  )
  t.same(d.components[0], { id: 'users', type: 'client', x: 40, y: 60 }, 'a client is its id and type')
  t.match(d.components[4], { type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 })
  t.match(newComponent(CATALOGUE, 'external', 'maps', 0, 0), { delay: true }, 'an external API is a delay')
  const places = d.components.map((c) => `${c.x},${c.y}`)
  t.equal(new Set(places).size, places.length, 'no two in one place')
  t.equal(freshId(d, 'service'), 'service-3')
  const search = addComponent(starterDesign(WITH_SEARCH_INDEX), WITH_SEARCH_INDEX, 'search_index')
  t.same(search.id, 'search-index')
  t.match(search.design.components[1], { type: 'search_index', instances: 2, concurrency: 16, serviceTimeMs: 12 })
  t.same(validateDesign(starterDesign(CATALOGUE) as never), [], 'a new workspace is a valid design')
})

t.test('connecting: a split shares evenly; no link to itself, to a client or twice', async (t) => {
  let d = frozen(base())
  d = connect(d, CATALOGUE, 'users', 'load-balancer')
  d = connect(d, CATALOGUE, 'load-balancer', 'service')
  t.same(d.links.at(-1), { from: 'load-balancer', to: 'service', share: 1 })
  d = connect(d, CATALOGUE, 'load-balancer', 'service-2')
  t.same(
    d.links.filter((l) => l.from === 'load-balancer').map((l) => l.share),
    [0.5, 0.5],
    'a load balancer splits evenly'
  )
  const three = connect(connect(d, CATALOGUE, 'load-balancer', 'database'), CATALOGUE, 'service', 'database')
  const shares = three.links.filter((l) => l.from === 'load-balancer').map((l) => l.share as number)
  t.equal(
    shares.reduce((a, b) => a + b, 0),
    1,
    'thirds that add up to 1 exactly'
  )
  t.same(three.links.at(-1), { from: 'service', to: 'database' }, 'a service calls: no share')
  t.equal(connect(d, CATALOGUE, 'service', 'service'), d, 'not to itself')
  t.equal(connect(d, CATALOGUE, 'service', 'users'), d, 'not to a client')
  t.equal(connect(d, CATALOGUE, 'load-balancer', 'service'), d, 'not twice')
  t.equal(connect(d, CATALOGUE, 'ghost', 'service'), d, 'not from an unknown component')
  t.same(
    linkTargets(d, CATALOGUE, 'load-balancer').map((c) => c.id),
    ['database']
  )
})

t.test('deleting rebalances the splits that are left', async (t) => {
  let d = base()
  for (const [from, to] of [
    ['users', 'load-balancer'],
    ['load-balancer', 'service'],
    ['load-balancer', 'service-2'],
    ['service', 'database'],
    ['service-2', 'database']
  ])
    d = connect(d, CATALOGUE, from, to)
  d = frozen(d)
  const without = deleteComponent(d, CATALOGUE, 'service-2')
  t.notOk(without.components.some((c) => c.id === 'service-2'))
  t.same(without.links, [
    { from: 'users', to: 'load-balancer' },
    { from: 'load-balancer', to: 'service', share: 1 },
    { from: 'service', to: 'database' }
  ])
  t.same(validateDesign(without as never), [], 'what is left is valid')
  const linkGone = deleteLink(d, CATALOGUE, 1)
  t.same(
    linkGone.links.filter((l) => l.from === 'load-balancer'),
    [{ from: 'load-balancer', to: 'service-2', share: 1 }]
  )
  t.equal(deleteLink(d, CATALOGUE, 99), d, 'an unknown link: nothing')
})

t.test('renaming carries the links; a malformed or taken id changes nothing', async (t) => {
  const d = frozen(connect(base(), CATALOGUE, 'service', 'database'))
  const renamed = rename(d, 'database', 'orders-db')
  t.same(renamed.links.at(-1), { from: 'service', to: 'orders-db' })
  t.ok(renamed.components.some((c) => c.id === 'orders-db'))
  for (const bad of ['Orders', '-db', '', 'service', 'x'.repeat(41)]) t.equal(rename(d, 'database', bad), d, bad)
  t.ok(isFreeId(d, 'database', 'database'), 'a component keeps its own id')
  t.notOk(isFreeId(d, 'database'))
})

t.test('setting a field: undefined goes back to the default; a routing change rebalances', async (t) => {
  let d = frozen(base())
  d = setField(d, CATALOGUE, 'service', { availability: 0.9995, costPerMonth: 90, zones: ['a', 'b'] })
  t.match(d.components[2], { availability: 0.9995, costPerMonth: 90, zones: ['a', 'b'] })
  d = setField(d, CATALOGUE, 'service', { costPerMonth: undefined, name: '' })
  t.notOk('costPerMonth' in d.components[2], 'cleared')
  t.notOk('name' in d.components[2], 'an empty name is none')
  d = connect(connect(d, CATALOGUE, 'service', 'database'), CATALOGUE, 'service', 'service-2')
  t.same(
    d.links.map((l) => l.share),
    [undefined, undefined]
  )
  const split = setField(d, CATALOGUE, 'service', { routing: 'split' })
  t.same(
    split.links.map((l) => l.share),
    [0.5, 0.5],
    'split from now on: shared evenly'
  )
  const link = setLinkField(split, 0, { timeoutMs: 100, retries: 2, latencyMs: undefined })
  t.same(link.links[0], { from: 'service', to: 'database', share: 0.5, timeoutMs: 100, retries: 2 })
  t.same(move(d, 'database', 7, 9).components[4], { ...d.components[4], x: 7, y: 9 })
})

t.test('a design saved without positions is laid out; one with them is kept', async (t) => {
  const bare: Design = {
    components: [
      { id: 'u', type: 'client' },
      { id: 's', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 }
    ],
    links: [{ from: 'u', to: 's' }]
  }
  const laid = withLayout(bare, CATALOGUE)
  t.ok(laid.components.every((c) => typeof c.x === 'number' && typeof c.y === 'number'))
  t.ok((laid.components[1].x as number) > (laid.components[0].x as number), 'left to right from the client')
  t.equal(withLayout(laid, CATALOGUE), laid)
  t.same(rebalance(bare, 'u', CATALOGUE), bare, 'a client calls: nothing to rebalance')
})
