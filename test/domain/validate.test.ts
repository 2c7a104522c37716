import t from 'tap'
import { visitsPerRequest, workPerRequest } from '../../src/domain/flows.ts'
import { type Design, LIMITS } from '../../src/domain/model.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bigRing, fanOutBomb, PATHOLOGICAL, slowCycle, timeoutBomb } from '../helpers/pathological.ts'

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

t.test('refuses a fan-out bomb by its visits per request, whatever its peakRps', async (t) => {
  const [problem] = validateDesign(fanOutBomb(12, 4))
  t.match(problem, { path: '/links', message: /visit 2\.24e\+7 stations .* limit is 500/ })
  t.match(validateDesign(fanOutBomb(5, 10, 0)), [{ message: /visit 111110 stations/ }], 'deep fan-out too')
  const allowed = fanOutBomb(3, 4, 0)
  t.same(validateDesign(allowed), [], 'a fan-out within the limit is accepted')
  t.equal(workPerRequest(allowed, visitsPerRequest(allowed)).visits, 4 + 16 + 64, 'visits are Σ arrivals / peakRps')
})

t.test('refuses a cycle that passes on almost all it receives, and a cycle larger than the limit', async (t) => {
  t.match(validateDesign(slowCycle()), [{ path: '/links', message: /visit 2\.00e\+6 stations/ }])
  t.match(validateDesign(bigRing()), [{ message: `a cycle joins 499 components; at most ${LIMITS.cycleComponents}` }])
  const exact: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'a', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'b', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'out', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 1 }
    ],
    links: [
      { from: 'users', to: 'a', share: 1 },
      { from: 'a', to: 'b', share: 1 },
      { from: 'b', to: 'a', share: 1 },
      { from: 'b', to: 'out', share: 1 }
    ]
  }
  t.match(validateDesign(exact), [{ message: /cycle with no exit: a → b passes on at least all it receives/ }])
})

t.test('the work below a timeout link is bounded on its own terms, not scaled by its share', async (t) => {
  // Taken once in 10¹² requests, the link's work per request is nothing; its sampling is not.
  const bomb = timeoutBomb(16)
  t.ok(workPerRequest(bomb, visitsPerRequest(bomb)).work < 10, 'scaled by its share, the bomb looks free')
  t.match(validateDesign(bomb), [
    { path: '/links/0', message: /through the link users → gate .* 262141 simulation steps; the limit is 1000/ }
  ])
  t.match(validateDesign(timeoutBomb(40, { share: 1e-300, width: 3 })), [{ path: '/links' }], 'its visits first')
  // Each link cheap enough, all of them with their retries too much.
  const many = timeoutBomb(5, { timeoutLinks: 20, retries: 10 })
  t.match(validateDesign(many), [{ path: /^\/links\/\d+$/, message: /the limit for all of them is 2500/ }])
  t.same(validateDesign(timeoutBomb(5, { timeoutLinks: 20, retries: 1 })), [], 'the same links retried once pass')
  t.same(validateDesign(timeoutBomb(7)), [], 'a bomb shallow enough to sample passes')
  const entered = visitsPerRequest(bomb, undefined, undefined, 'l0w0')
  t.equal(entered.read[0], 0, 'entered at a component, the clients get no visits')
  t.equal(entered.read[2], 1, 'and it gets one')
})

t.test('every known attack shape is refused or accepted by validation, never left to the engine', async (t) => {
  for (const [name, make] of Object.entries(PATHOLOGICAL)) {
    const design = make()
    const problems = validateDesign(design)
    if (problems.length > 0) {
      t.ok(problems[0].message.length > 0, `${name}: refused (${problems[0].message})`)
      continue
    }
    const cost = workPerRequest(design, visitsPerRequest(design))
    t.ok(cost.work <= LIMITS.workPerRequest, `${name}: accepted within the work bound (${cost.work})`)
  }
})
