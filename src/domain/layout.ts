// Where a design's components are drawn: their stored x/y, or a layered layout ("Tidy"). Layers go
// left to right by the longest path from a client (so every link points right, a cycle's back link
// aside); a link that skips layers holds a place in each layer it crosses, so no component is put
// in its way; each layer is ordered to keep links uncrossed (Sugiyama's barycentre), and a last pass
// moves any component a straight link would still pass under out of its way. The web app's canvas,
// its Tidy button and the HTML report share it.
import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import type { Design } from './model.ts'

export const NODE_W = 164
export const NODE_H = 56
/** Horizontal room between layers, and vertical room between components of a layer. */
const LAYER_GAP = 86
const ROW_GAP = 50
/** How close a link may pass to a component it does not join. */
export const LINK_CLEARANCE = 8

/** Sweeps of the barycentre ordering (down the layers, back up, and so on). */
const SWEEPS = 6

type Links = Pick<Design, 'links'>['links']
type Point = { x: number; y: number }

/** Stored places kept; the components without one placed by the layered layout. */
export function positions(
  design: Pick<Design, 'components' | 'links'>,
  catalogue: Catalogue = CATALOGUE
): Map<string, Point> {
  const out = new Map<string, Point>()
  const unplaced = design.components.filter((c) => c.x === undefined || c.y === undefined)
  const laid = unplaced.length > 0 ? tidy(design, catalogue) : new Map<string, Point>()
  for (const c of design.components)
    out.set(c.id, c.x !== undefined && c.y !== undefined ? { x: c.x, y: c.y } : (laid.get(c.id) as Point))
  return out
}

/** Every component placed by the layered layout, whatever its stored place. */
export function tidy(
  design: Pick<Design, 'components' | 'links'>,
  catalogue: Catalogue = CATALOGUE
): Map<string, Point> {
  const ids = design.components.map((c) => c.id)
  const known = new Set(ids)
  const links = design.links.filter((l) => known.has(l.from) && known.has(l.to) && l.from !== l.to)
  const sources = design.components.filter((c) => hasTrait(catalogue, c.type, 'source')).map((c) => c.id)
  const edges = acyclic(ids, sources, links)
  const layer = longestPath(ids, edges)
  // Each link as a chain of segments between adjacent layers, through a waypoint per layer it skips.
  const layers: string[][] = []
  const put = (id: string, d: number) => {
    while (layers.length <= d) layers.push([])
    layers[d].push(id)
    layerOf.set(id, d)
  }
  const layerOf = new Map<string, number>()
  for (const id of ids) put(id, layer.get(id) as number)
  const segments: { from: string; to: string }[] = []
  edges.forEach(([from, to], n) => {
    let last = from
    for (let d = (layer.get(from) as number) + 1; d < (layer.get(to) as number); d++) {
      const waypoint = `\u0000${n}:${d}`
      put(waypoint, d)
      segments.push({ from: last, to: waypoint })
      last = waypoint
    }
    segments.push({ from: last, to })
  })
  orderLayers(layers, segments)
  const at = place(layers, segments, known)
  clearLinks(layers, at, links, known)
  // The top-left component at (40, 40).
  let top = Number.POSITIVE_INFINITY
  for (const id of ids) top = Math.min(top, (at.get(id) as Point).y)
  const out = new Map<string, Point>()
  for (const id of ids) {
    const p = at.get(id) as Point
    out.set(id, { x: p.x, y: Math.round(p.y - top + 40) })
  }
  return out
}

/** The links as edges that point forward: a depth-first walk from the clients turns each back link round. */
function acyclic(ids: string[], sources: string[], links: Links): [string, string][] {
  const out = new Map<string, string[]>()
  for (const l of links) out.set(l.from, [...(out.get(l.from) ?? []), l.to])
  const state = new Map<string, 'open' | 'done'>()
  const edges: [string, string][] = []
  const walk = (start: string) => {
    const stack: [string, number][] = [[start, 0]]
    state.set(start, 'open')
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const next = (out.get(top[0]) ?? [])[top[1]++]
      if (next === undefined) {
        state.set(top[0], 'done')
        stack.pop()
      } else if (state.get(next) === 'open') edges.push([next, top[0]])
      else {
        edges.push([top[0], next])
        if (!state.has(next)) {
          state.set(next, 'open')
          stack.push([next, 0])
        }
      }
    }
  }
  for (const id of [...sources, ...ids]) if (!state.has(id)) walk(id)
  // A link and its reverse both present would make one edge twice: keep each pair once.
  const seen = new Set<string>()
  return edges.filter(([a, b]) => {
    const key = `${a}\u0000${b}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Each component's layer: one past the furthest of its callers (the edges have no cycle). */
function longestPath(ids: string[], edges: [string, string][]): Map<string, number> {
  const incoming = new Map<string, number>(ids.map((id) => [id, 0]))
  const out = new Map<string, string[]>()
  for (const [a, b] of edges) {
    incoming.set(b, (incoming.get(b) ?? 0) + 1)
    out.set(a, [...(out.get(a) ?? []), b])
  }
  const layer = new Map<string, number>(ids.map((id) => [id, 0]))
  const ready = ids.filter((id) => incoming.get(id) === 0)
  for (let i = 0; i < ready.length; i++) {
    for (const b of out.get(ready[i]) ?? []) {
      layer.set(b, Math.max(layer.get(b) as number, (layer.get(ready[i]) as number) + 1))
      incoming.set(b, (incoming.get(b) as number) - 1)
      if (incoming.get(b) === 0) ready.push(b)
    }
  }
  return layer
}

/**
 * Sugiyama's barycentre heuristic: each layer in turn is sorted by the mean row of its members'
 * neighbours in the layer before it (their callers going down, their callees coming back up), so a
 * component sits level with what it talks to and links cross less. A member with no neighbour
 * there keeps its place; ties keep the design's order.
 */
function orderLayers(layers: string[][], links: { from: string; to: string }[]): void {
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

/** Height a layer's member takes: a component its box, a waypoint nothing (the gaps keep links clear). */
const heightOf = (id: string, real: Set<string>) => (real.has(id) ? NODE_H : 0)

/**
 * Top-left corners: layers side by side; within a layer, members in order, each pulled level with
 * the mean of its neighbours (a few passes), never closer than ROW_GAP to the one above.
 */
function place(layers: string[][], segments: { from: string; to: string }[], real: Set<string>): Map<string, Point> {
  const at = new Map<string, Point>()
  const neighbours = new Map<string, string[]>()
  for (const s of segments) {
    neighbours.set(s.from, [...(neighbours.get(s.from) ?? []), s.to])
    neighbours.set(s.to, [...(neighbours.get(s.to) ?? []), s.from])
  }
  const centre = (id: string) => (at.get(id) as Point).y + heightOf(id, real) / 2
  layers.forEach((layer, d) => {
    let y = 0
    for (const id of layer) {
      at.set(id, { x: 40 + d * (NODE_W + LAYER_GAP), y })
      y += heightOf(id, real) + ROW_GAP
    }
  })
  for (let pass = 0; pass < 4; pass++) {
    for (const layer of layers) {
      let floor = Number.NEGATIVE_INFINITY
      for (const id of layer) {
        const around = neighbours.get(id) ?? []
        const wanted =
          around.length > 0
            ? around.reduce((sum, other) => sum + centre(other), 0) / around.length - heightOf(id, real) / 2
            : (at.get(id) as Point).y
        const y = Math.max(wanted, floor)
        ;(at.get(id) as Point).y = y
        floor = y + heightOf(id, real) + ROW_GAP
      }
    }
  }
  return at
}

/** Where the segment between two boxes' centres is at `x` (clamped to its ends). */
function yAt(p: Point, q: Point, x: number): number {
  if (q.x === p.x) return p.y
  const t = Math.min(1, Math.max(0, (x - p.x) / (q.x - p.x)))
  return p.y + t * (q.y - p.y)
}

/**
 * A component a straight link passes under (or too close to), if any: the link's ends, and the
 * component it crosses, with the part of its column's width the link spans vertically.
 */
export function linkOverNode(
  links: Links,
  at: Map<string, Point>,
  clearance = LINK_CLEARANCE
): { link: { from: string; to: string }; node: string; top: number; bottom: number } | null {
  const centres = [...at].map(([id, p]) => ({ id, x: p.x, y: p.y }))
  for (const link of links) {
    const a = at.get(link.from)
    const b = at.get(link.to)
    if (!a || !b || link.from === link.to) continue
    const p = { x: a.x + NODE_W / 2, y: a.y + NODE_H / 2 }
    const q = { x: b.x + NODE_W / 2, y: b.y + NODE_H / 2 }
    const left = Math.min(p.x, q.x)
    const right = Math.max(p.x, q.x)
    for (const n of centres) {
      if (n.id === link.from || n.id === link.to) continue
      const x0 = Math.max(left, n.x - clearance)
      const x1 = Math.min(right, n.x + NODE_W + clearance)
      if (x0 > x1) continue
      const y0 = yAt(p, q, x0)
      const y1 = yAt(p, q, x1)
      const top = Math.min(y0, y1)
      const bottom = Math.max(y0, y1)
      if (bottom >= n.y - clearance && top <= n.y + NODE_H + clearance)
        return { link: { from: link.from, to: link.to }, node: n.id, top, bottom }
    }
  }
  return null
}

/**
 * Moves what a straight link passes under out of its way: the component and the rest of its layer
 * on that side shift (down when the link passes above its middle, up when below), so the layer's
 * order and gaps stay. Bounded: a pathological design keeps what it has after enough moves.
 */
function clearLinks(layers: string[][], at: Map<string, Point>, links: Links, real: Set<string>): void {
  const layerOf = new Map<string, string[]>()
  for (const layer of layers) for (const id of layer) layerOf.set(id, layer)
  const boxes = () => new Map([...at].filter(([id]) => real.has(id)))
  for (let moves = 0; moves < 40 * Math.max(10, real.size); moves++) {
    const hit = linkOverNode(links, boxes())
    if (!hit) return
    const node = at.get(hit.node) as Point
    const layer = layerOf.get(hit.node) as string[]
    const i = layer.indexOf(hit.node)
    const middle = (hit.top + hit.bottom) / 2
    if (middle < node.y + NODE_H / 2) {
      const by = hit.bottom + LINK_CLEARANCE + 1 - node.y
      for (const id of layer.slice(i)) (at.get(id) as Point).y += by
    } else {
      const by = node.y + NODE_H + LINK_CLEARANCE + 1 - hit.top
      for (const id of layer.slice(0, i + 1)) (at.get(id) as Point).y -= by
    }
  }
}
