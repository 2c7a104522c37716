// Identical components carrying the same load (three copies of a service behind a balancer) are
// one tier to a learner: the bottleneck is the group, and advice sizes the group (issue 38).
import { CATALOGUE, type Catalogue } from './components.ts'
import { offeredLoads, offeredUtilizations, propagate } from './engine.ts'
import type { Component, Design, TrafficProfile } from './model.ts'
import { listed } from './patch.ts'

const IGNORED: readonly string[] = ['id', 'name', 'x', 'y']
const shape = (c: Component) =>
  JSON.stringify(
    Object.entries(c)
      .filter(([k]) => !IGNORED.includes(k))
      .sort(([a], [b]) => a.localeCompare(b))
  )

/** The components of the same type and settings as `id` whose offered load is within 1 % of its, `id` first in design order. */
export function groupOf(design: Design, flows: Map<string, { read: number; write: number }>, id: string): string[] {
  const c = design.components.find((x) => x.id === id)
  if (!c) return [id]
  const load = (x: Component) => {
    const f = flows.get(x.id)
    return f ? f.read + f.write : 0
  }
  const mine = load(c)
  return design.components
    .filter((x) => x.id === id || (shape(x) === shape(c) && Math.abs(load(x) - mine) <= 0.01 * Math.max(mine, 1e-9)))
    .map((x) => x.id)
}

/** "service, service-2 and service-3, each at 208 %", or "db at 91 %": a component and its group at peak, by offered utilisation. */
export function groupSentence(
  design: Design,
  traffic: TrafficProfile,
  id: string,
  catalogue: Catalogue = CATALOGUE
): string {
  const group = groupOf(design, propagate(design, traffic, undefined, undefined, catalogue), id)
  const u = offeredUtilizations(offeredLoads(design, traffic, catalogue)).get(id) ?? 0
  const at = `${Math.round(u * 100)} %`
  return group.length > 1 ? `${listed(group)}, each at ${at}` : `${id} at ${at}`
}
