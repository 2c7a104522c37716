// Where a design's components are drawn: their stored x/y, or layers by distance from a client
// (left to right), stacked within a layer. The web app's canvas and the HTML report share it.
import type { Design } from './model.ts'

export const NODE_W = 164
export const NODE_H = 56

export function positions(design: Pick<Design, 'components' | 'links'>): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>()
  const queue = design.components.filter((c) => c.type === 'client').map((c) => c.id)
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
  const rows = new Map<number, number>()
  const out = new Map<string, { x: number; y: number }>()
  for (const c of design.components) {
    if (c.x !== undefined && c.y !== undefined) {
      out.set(c.id, { x: c.x, y: c.y })
      continue
    }
    const d = depth.get(c.id) ?? 0
    const row = rows.get(d) ?? 0
    rows.set(d, row + 1)
    out.set(c.id, { x: 40 + d * (NODE_W + 70), y: 40 + row * (NODE_H + 50) })
  }
  return out
}
