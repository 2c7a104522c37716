import { CATALOGUE, type Catalogue, hasTrait, kindOf } from './components.ts'
import { type OfferedLoad, offeredLoads, requestPaths } from './engine.ts'
import type { Component, Design, TrafficProfile } from './model.ts'
import type { Analysis } from './schemas.ts'

// Availability that knows capacity: a copy of a component is up while at least k of its n
// instances are, k the fewest that keep its utilisation below 1 at peak; copies in parallel,
// components along a path in series, weighted over the path mix.

export type RequestPaths = ReturnType<typeof requestPaths>

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits

/** One instance's availability: its own, else its type's (a month's uptime share). */
export const availabilityOf = (c: Component, catalogue: Catalogue = CATALOGUE) =>
  c.availability ?? kindOf(catalogue, c.type)?.availability ?? 0.999

/** Parallel copies: up while any is up. */
export const parallel = (a: number, n: number) => 1 - (1 - a) ** n

/** P(at least k of n independent instances are up), each up with probability a (the binomial tail). */
export function atLeast(k: number, n: number, a: number): number {
  let sum = 0
  let term = (1 - a) ** n
  // term = C(n, j) a^j (1 − a)^(n − j), from j = 0 upward.
  for (let j = 0; j <= n; j++) {
    if (j >= k) sum += term
    if (j < n) term = a === 1 ? (j + 1 === n ? 1 : 0) : (term * (n - j) * a) / ((j + 1) * (1 - a))
  }
  return Math.min(1, sum)
}

/**
 * The fewest of n instances that keep a copy's utilisation below 1 at its offered load (every one
 * when even n cannot: it is saturated as it is).
 */
export function instancesNeeded(load: OfferedLoad, n: number): number {
  if (load.lambda <= 0) return 1
  const perInstance = load.capacity / n
  return Math.min(n, Math.floor(load.lambda / perInstance + 1e-12) + 1)
}

/** The components a request path meets: its stations (`db:replica-1` is db's) without the links'. */
export const componentsOf = (path: { stations: string[] }) =>
  new Set(path.stations.filter((s) => !s.includes('->')).map((s) => s.split(':')[0]))

/** k-of-n copies in parallel, components along a path in series, weighted over the path mix. */
export function designAvailability(
  design: Design,
  traffic: TrafficProfile,
  paths?: RequestPaths,
  catalogue: Catalogue = CATALOGUE
): Analysis['availability'] {
  if (paths === undefined) paths = requestPaths(design, traffic, catalogue)
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const copies = new Map<string, OfferedLoad[]>()
  for (const load of offeredLoads(design, traffic, catalogue)) {
    const list = copies.get(load.componentId)
    if (list) list.push(load)
    else copies.set(load.componentId, [load])
  }
  const componentAvailability = (id: string) => {
    const c = byId.get(id)
    if (!c || hasTrait(catalogue, c.type, 'source')) return 1
    const a = availabilityOf(c, catalogue)
    // A pure delay never queues: one instance carries it. Otherwise each copy by its own load.
    const loads = copies.get(id) ?? [{ componentId: id, lambda: 0, capacity: Number.POSITIVE_INFINITY }]
    let down = 1
    for (const load of loads) down *= 1 - atLeast(instancesNeeded(load, c.instances), c.instances, a)
    return 1 - down
  }
  let fraction: number
  if (paths) {
    fraction = paths.reduce((sum, p) => {
      let a = 1
      for (const id of componentsOf(p)) a *= componentAvailability(id)
      return sum + p.probability * a
    }, 0)
  } else {
    // Too many kinds of path to list: every component, in series (a lower bound).
    fraction = design.components.reduce((a, c) => a * componentAvailability(c.id), 1)
  }
  const unavailable = Math.max(0, 1 - fraction)
  return {
    fraction: round(fraction, 9),
    nines: round(unavailable > 0 ? -Math.log10(unavailable) : 9, 2),
    downtimeMinutesPerMonth: round(unavailable * 30 * 24 * 60, 2)
  }
}

/**
 * The share of requests whose path meets a component that is down: they fail. When the paths are
 * too many to list, every request is taken to meet it (1: a bound, not an estimate).
 */
export function failingShare(paths: RequestPaths, down: ReadonlySet<string>): number {
  if (down.size === 0) return 0
  if (!paths) return 1
  let share = 0
  for (const p of paths) if ([...componentsOf(p)].some((id) => down.has(id))) share += p.probability
  return Math.min(1, share)
}

/**
 * The routes (the components met, in order) of the requests that meet a component that is down,
 * each with its share, largest first; null when the paths are too many to list.
 */
export function failingRoutes(
  paths: RequestPaths,
  down: ReadonlySet<string>
): { components: string[]; share: number }[] | null {
  if (!paths) return null
  const routes = new Map<string, { components: string[]; share: number }>()
  for (const p of paths) {
    const components = [...componentsOf(p)]
    if (!components.some((id) => down.has(id))) continue
    const key = components.join('>')
    const route = routes.get(key)
    if (route) route.share += p.probability
    else routes.set(key, { components, share: p.probability })
  }
  return [...routes.values()].sort(
    (a, b) => b.share - a.share || a.components.join().localeCompare(b.components.join())
  )
}
