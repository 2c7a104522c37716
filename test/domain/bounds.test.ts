import t from 'tap'
import { EngineBudgetError, requestPaths, simulate } from '../../src/domain/engine.ts'
import { propagate, visitsPerRequest, workPerRequest } from '../../src/domain/flows.ts'
import { type Design, LIMITS, type TrafficProfile } from '../../src/domain/model.ts'
import { createRng } from '../../src/domain/random.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { bigRing, deepChain, fanOutBomb, PATHOLOGICAL, slowCycle, timeoutBomb } from '../helpers/pathological.ts'

const tiny: TrafficProfile = { peakRps: 0.001, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

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

t.test(
  'path enumeration is iterative: deep and wide designs neither overflow the stack nor run unbounded',
  async (t) => {
    t.doesNotThrow(() => requestPaths(deepChain(), tiny), 'a 500-deep chain')
    t.equal(requestPaths(fanOutBomb(5, 10, 0), tiny), null, 'a deep fan-out overflows the listing and is drawn instead')
    t.equal(requestPaths(deepChain(), tiny)?.length, 1, 'reads and writes of the chain take one kind of path')
  }
)

t.test('a run past the step budget stops with EngineBudgetError (the job fails, not retried)', async (t) => {
  t.throws(() => simulate(fanOutBomb(12, 4), tiny), EngineBudgetError)
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

t.test('the step budget counts the traversals drawn below timeouts', async (t) => {
  // Validation would refuse it; the engine's own budget stops it all the same, and fast.
  t.throws(() => simulate(timeoutBomb(14), tiny, { maxSteps: 200_000 }), { name: 'EngineBudgetError', limit: 200_000 })
  const options = { seed: 1, samples: 2000, timeoutSamples: { pass: 400, final: 800 } }
  t.throws(() => simulate(timeoutBomb(7), tiny, { ...options, maxSteps: 10_000 }), EngineBudgetError)
  t.ok(simulate(timeoutBomb(7), tiny, options).overall, 'within the default budget it runs')
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
