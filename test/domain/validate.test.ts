import t from 'tap'
import type { Design } from '../../src/domain/model.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'

const copy = (): Design => structuredClone(SAMPLE_DESIGN)

t.test('the sample design is valid', async (t) => {
  t.same(validateDesign(SAMPLE_DESIGN), [])
})

const cases: [string, (d: Design) => void, { path: RegExp | string; message: RegExp }][] = [
  [
    'unknown component type',
    (d) => ((d.components[2] as { type: string }).type = 'mainframe'),
    { path: '/components/2/type', message: /unknown component type/ }
  ],
  ['duplicate ids', (d) => (d.components[3].id = 'api'), { path: '/components/3/id', message: /duplicate id "api"/ }],
  ['malformed id', (d) => (d.components[2].id = 'API!'), { path: '/components/2/id', message: /a-z, 0-9/ }],
  [
    'link to an unknown component',
    (d) => (d.links[1].to = 'ghost'),
    { path: '/links/1/to', message: /unknown component "ghost"/ }
  ],
  [
    'link from an unknown component',
    (d) => (d.links[1].from = 'ghost'),
    { path: '/links/1/from', message: /unknown component "ghost"/ }
  ],
  [
    'no client',
    (d) => (d.components = d.components.filter((c) => c.type !== 'client')),
    { path: '/components', message: /at least one client/ }
  ],
  [
    'zero instances',
    (d) => (d.components[2].instances = 0),
    { path: '/components/2/instances', message: /integer from 1/ }
  ],
  [
    'fractional concurrency',
    (d) => (d.components[2].concurrency = 1.5),
    { path: '/components/2/concurrency', message: /integer/ }
  ],
  [
    'service time out of range',
    (d) => (d.components[2].serviceTimeMs = 0),
    { path: '/components/2/serviceTimeMs', message: /from 0.01/ }
  ],
  [
    'hit ratio above 1',
    (d) => (d.components[3].hitRatio = 1.5),
    { path: '/components/3/hitRatio', message: /from 0 to 1/ }
  ],
  [
    'hit ratio on a service',
    (d) => (d.components[2].hitRatio = 0.5),
    { path: '/components/2/hitRatio', message: /only a cache or cdn/ }
  ],
  [
    'replicas on a cache',
    (d) => (d.components[3].replicas = 1),
    { path: '/components/3/replicas', message: /only a database/ }
  ],
  ['share of 0', (d) => (d.links[0].share = 0), { path: '/links/0/share', message: /greater than 0/ }],
  ['self link', (d) => d.links.push({ from: 'api', to: 'api', share: 0.5 }), { path: '/links/5', message: /itself/ }],
  [
    'link into a client',
    (d) => d.links.push({ from: 'api', to: 'users', share: 1 }),
    { path: '/links/5/to', message: /client only sends/ }
  ],
  [
    'cycle with no exit',
    (d) => {
      d.components.push({ id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 })
      d.components.push({ id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 })
      d.links.push(
        { from: 'db', to: 'a', share: 1 },
        { from: 'a', to: 'b', share: 1 },
        { from: 'b', to: 'a', share: 1 }
      )
    },
    { path: '/links', message: /cycle with no exit: a → b/ }
  ],
  [
    'cycle that passes on more than it receives',
    (d) => {
      d.components.push({ id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 })
      d.components.push({ id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 })
      d.components.push({ id: 'sink', type: 'external', instances: 1, concurrency: 1, serviceTimeMs: 1 })
      d.links.push(
        { from: 'db', to: 'a', share: 1 },
        { from: 'a', to: 'b', share: 1 },
        { from: 'b', to: 'a', share: 1 }
      )
      d.links.push({ from: 'b', to: 'sink', share: 1 })
    },
    { path: '/links', message: /cycle with no exit: a → b passes on at least all it receives/ }
  ]
]

for (const [name, change, expected] of cases) {
  t.test(`rejects: ${name}`, async (t) => {
    const design = copy()
    change(design)
    const problems = validateDesign(design)
    t.ok(
      problems.some(
        (p) =>
          (typeof expected.path === 'string' ? p.path === expected.path : expected.path.test(p.path)) &&
          expected.message.test(p.message)
      ),
      JSON.stringify(problems)
    )
  })
}

t.test('a cycle that lets traffic out is allowed (a retry loop)', async (t) => {
  const design = copy()
  design.components.push({ id: 'q', type: 'queue', instances: 2, concurrency: 10, serviceTimeMs: 1 })
  design.components.push({ id: 'w', type: 'worker', instances: 2, concurrency: 4, serviceTimeMs: 5 })
  design.links.push(
    { from: 'api', to: 'q', share: 0.1, traffic: 'write' },
    { from: 'q', to: 'w', share: 1 },
    { from: 'w', to: 'q', share: 0.2 }
  )
  t.same(validateDesign(design), [])
})

t.test('every problem is reported at once', async (t) => {
  const design = copy()
  design.components[2].instances = 0
  design.links[1].to = 'ghost'
  t.equal(validateDesign(design).length, 2)
})
