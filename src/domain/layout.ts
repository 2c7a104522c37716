// Where a design's components are drawn: their stored x/y, or layers by distance from a client
// (left to right), stacked within a layer in an order that keeps links short and uncrossed. The
// web app's canvas and the HTML report share it.
import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import type { Design } from './model.ts'

export const NODE_W = 164
export const NODE_H = 56

/** Sweeps of the barycentre ordering (down the layers, back up, and down again). */
const SWEEPS = 3

export function positions(
  design: Pick<Design, 'components' | 'links'>,
  catalogue: Catalogue = CATALOGUE
): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>()
  const queue = design.components.filter((c) => hasTrait(catalogue, c.type, 'source')).map((c) => c.id)
  for (const id of queue) depth.set(id, 0)
  for (let i = 0; i < queue.length; i++) {
    const d = depth.get(queue[i]) ?? 0
    for (const l of design.links) {
      if (l.from === queue[i] && !depth.has(l.to)) {
        depth.set(l.to, d + 1)
        queue.push(l.to)
      }
    }
  }
  const out = new Map<string, { x: number; y: number }>()
  // The components without a stored place, by layer, in design order to begin with.
  const layers: string[][] = []
  for (const c of design.components) {
    if (c.x !== undefined && c.y !== undefined) {
      out.set(c.id, { x: c.x, y: c.y })
      continue
    }
    const d = depth.get(c.id) ?? 0
    while (layers.length <= d) layers.push([])
    layers[d].push(c.id)
  }
  orderLayers(layers, design.links)
  layers.forEach((layer, d) => {
    layer.forEach((id, row) => {
      out.set(id, { x: 40 + d * (NODE_W + 70), y: 40 + row * (NODE_H + 50) })
    })
  })
  return out
}

/**
 * Sugiyama's barycentre heuristic: each layer in turn is sorted by the mean row of its
 * components' neighbours in the layer before it (their callers going down, their callees coming
 * back up), so a component sits level with what it talks to and links cross less. A component
 * with no neighbour there keeps its place; ties keep the design's order.
 */
function orderLayers(layers: string[][], links: Design['links']): void {
  const layerOf = new Map<string, number>()
  layers.forEach((layer, d) => {
    for (const id of layer) layerOf.set(id, d)
  })
  const callers = new Map<string, string[]>()
  const callees = new Map<string, string[]>()
  const add = (map: Map<string, string[]>, key: string, value: string) => {
    const list = map.get(key)
    if (list) list.push(value)
    else map.set(key, [value])
  }
  for (const l of links) {
    add(callers, l.to, l.from)
    add(callees, l.from, l.to)
  }
  const row = new Map<string, number>()
  const renumber = (layer: string[]) => {
    for (const [i, id] of layer.entries()) row.set(id, i)
  }
  layers.forEach(renumber)
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0
    const depths = layers.map((_, d) => d)
    for (const d of down ? depths.slice(1) : depths.reverse().slice(1)) {
      const before = down ? d - 1 : d + 1
      const key = new Map<string, number>()
      for (const id of layers[d]) {
        const around = ((down ? callers : callees).get(id) ?? [])
          .filter((other) => layerOf.get(other) === before)
          .map((other) => row.get(other) as number)
        key.set(id, around.length > 0 ? around.reduce((a, b) => a + b, 0) / around.length : (row.get(id) as number))
      }
      layers[d].sort((a, b) => (key.get(a) as number) - (key.get(b) as number))
      renumber(layers[d])
    }
  }
}
