// The designs an attacker sends first: each is valid JSON within the schema's size limits and
// aims at unbounded work in validation or in the engine. Used by test/domain/validate.test.ts,
// test/domain/engine/budget.test.ts and the fuzzer.
import fc from 'fast-check'
import { type Component, type Design, LIMITS, type Link } from '../../src/domain/model.ts'

const service = (id: string): Component => ({ id, type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 1 })
const client: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }

/**
 * Layers of fan-out/fan-in at share 1 (each layer calls every member of the next): visits grow as
 * width^layers. Dead-end links from the client make path enumeration overflow, so the sampler
 * would walk every sample.
 */
export function fanOutBomb(layers = 12, width = 4, deadEnds = 6): Design {
  const components: Component[] = [client]
  const links: Link[] = []
  for (let d = 0; d < deadEnds; d++) {
    components.push(service(`dead${d}`))
    links.push({ from: 'users', to: `dead${d}`, share: 0.5 })
  }
  let previous = ['users']
  for (let l = 0; l < layers; l++) {
    const layer = Array.from({ length: width }, (_, w) => `l${l}w${w}`)
    for (const id of layer) components.push(service(id))
    for (const from of previous) for (const to of layer) links.push({ from, to, share: 1 })
    previous = layer
  }
  return { components, links }
}

/**
 * The slowest valid design known: a fan-out at the visits limit, heavy-tailed service (CV 3) on
 * every station and as many retried timeouts as a design may have (each one's load a fixed point
 * of sampled traversals). Seconds a run with its analysis: what a worker's deadline is for.
 */
export function heavyFanOut(): Design {
  const { components, links } = fanOutBomb(3, 7, 8)
  let timeouts = 0
  return {
    components: components.map((c) => (c.type === 'client' ? c : { ...c, serviceTimeCv: 3 })),
    links: links.map((l) =>
      l.from.startsWith('l1') && timeouts++ < LIMITS.timeoutLinks ? { ...l, timeoutMs: 5, retries: 3 } : l
    )
  }
}

/** A cycle that passes on almost all it receives (a→b share 1, b→a share 0.999999), in a large design. */
export function slowCycle(components = 500, links = 2000): Design {
  const list: Component[] = [client, ...Array.from({ length: components - 1 }, (_, i) => service(`s${i}`))]
  const out: Link[] = [
    { from: 'users', to: 's0', share: 1 },
    { from: 's0', to: 's1', share: 1 },
    { from: 's1', to: 's0', share: 0.999999 }
  ]
  for (let i = 2; out.length < links && i < components - 1; i++)
    out.push({ from: `s${i - 1}`, to: `s${i}`, share: 0.001 })
  for (let i = 2; out.length < links; i++) {
    const from = 2 + (i % (components - 3))
    const to = 2 + ((i * 7) % (components - 3))
    if (from < to && !out.some((l) => l.from === `s${from}` && l.to === `s${to}`))
      out.push({ from: `s${from}`, to: `s${to}`, share: 0.001 })
    if (i > 50_000) break
  }
  return { components: list, links: out }
}

/** A ring of every component (one strongly connected group the size of the design), leaking a little. */
export function bigRing(components = 500): Design {
  const list: Component[] = [client, ...Array.from({ length: components - 1 }, (_, i) => service(`s${i}`))]
  const links: Link[] = [{ from: 'users', to: 's0', share: 1 }]
  for (let i = 0; i < components - 1; i++)
    links.push({ from: `s${i}`, to: `s${(i + 1) % (components - 1)}`, share: 0.99 })
  return { components: list, links }
}

/** A chain as deep as the limits allow. */
export function deepChain(components = 500): Design {
  const list: Component[] = [client, ...Array.from({ length: components - 1 }, (_, i) => service(`s${i}`))]
  const links: Link[] = list.slice(1).map((c, i) => ({ from: i === 0 ? 'users' : `s${i - 1}`, to: c.id, share: 1 }))
  return { components: list, links }
}

/** Every attack shape, by name. */
export const PATHOLOGICAL: Record<string, () => Design> = {
  'fan-out bomb (12 layers × 4)': () => fanOutBomb(12, 4),
  'deep fan-out (5 layers × 10)': () => fanOutBomb(5, 10, 0),
  'slow cycle in 500 components and 2000 links': () => slowCycle(),
  'ring of 500 components': () => bigRing(),
  'chain of 500 components': () => deepChain(),
  'timeout bomb (a link of share 1e-12 above 16 layers)': () => timeoutBomb(16),
  'timeout bomb, 20 retried timeout links': () => timeoutBomb(5, { timeoutLinks: 20, retries: 10 })
}

/** `count` variations of the attack shapes (fan-out bombs, deep chains, slow cycles), from a seed. */
export function attackDesigns(seed: number, count: number): Design[] {
  const generated = fc.sample(
    fc.oneof(
      fc
        .record({ layers: fc.integer({ min: 1, max: 14 }), width: fc.integer({ min: 1, max: 12 }), dead: fc.nat(8) })
        .map(({ layers, width, dead }) => fanOutBomb(layers, width, dead)),
      fc.integer({ min: 3, max: 500 }).map((n) => deepChain(n)),
      fc.integer({ min: 4, max: 500 }).map((n) => slowCycle(n, Math.min(2000, n * 4))),
      fc
        .record({
          layers: fc.integer({ min: 1, max: 40 }),
          width: fc.integer({ min: 1, max: 4 }),
          share: fc.constantFrom(1, 1e-3, 1e-12, 1e-300),
          timeoutLinks: fc.integer({ min: 1, max: 20 }),
          retries: fc.nat(10)
        })
        .map(({ layers, ...options }) => timeoutBomb(layers, options))
    ),
    { numRuns: count, seed }
  )
  return [...Object.values(PATHOLOGICAL).map((make) => make()), ...generated]
}

/**
 * The preview bomb: a timeout link taken once in 10¹² requests (`share`), above `layers` layers of
 * `width` services that each call every service of the next layer; the first `timeoutLinks` links
 * carry a timeout. A bound scaled by how often a link is taken misses the work below it; its
 * timeout is sampled on its own terms all the same.
 */
export function timeoutBomb(layers = 16, { share = 1e-12, width = 2, timeoutLinks = 1, retries = 0 } = {}): Design {
  const components: Component[] = [client, service('gate')]
  const links: Link[] = [{ from: 'users', to: 'gate', share }]
  let previous = ['gate']
  for (let l = 0; l < layers; l++) {
    const layer = Array.from({ length: width }, (_, w) => `l${l}w${w}`)
    for (const id of layer) components.push(service(id))
    for (const from of previous) for (const to of layer) links.push({ from, to, share: 1 })
    previous = layer
  }
  return {
    components,
    links: links.map((link, j) => (j < timeoutLinks ? { ...link, timeoutMs: 1000, retries } : link))
  }
}
