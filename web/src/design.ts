// The editor's design operations: pure functions from a design (and the catalogue it is read
// with) to the next design. The store applies them and keeps the history; screens only ask for
// them. Nothing here touches the page, so test/web/design.test.ts runs them without a browser.
import {
  type Catalogue,
  hasTrait,
  ID_PATTERN,
  kindOf,
  LIMITS,
  routingOf,
  typesWith
} from '../../src/domain/components.ts'
import { NODE_H, NODE_W, positions, tidy } from '../../src/domain/layout.ts'
import type { ComponentDocument, DesignDocument, Link } from '../../src/domain/schemas.ts'

export type { Link } from '../../src/domain/schemas.ts'
/** A component as the editor holds it: a client needs only its id and type. */
export type Component = ComponentDocument
export type Design = DesignDocument

export const EMPTY_DESIGN: Design = Object.freeze({ components: [], links: [] }) as Design

/** What a new component of a type starts with: its catalogue entry's defaults, where it is put. */
export function newComponent(catalogue: Catalogue, type: string, id: string, x: number, y: number): Component {
  return { id, type, ...kindOf(catalogue, type)?.defaults, x, y }
}

/** What a new workspace starts with: a traffic source (a design needs one). */
export function starterDesign(catalogue: Catalogue): Design {
  const source = typesWith(catalogue, 'source')[0] ?? 'client'
  return { components: [newComponent(catalogue, source, 'users', 40, 60)], links: [] }
}

const ID = new RegExp(ID_PATTERN)

/** Whether `id` may name a component of the design (the one called `except` may keep its own). */
export function isFreeId(design: Design, id: string, except?: string): boolean {
  return ID.test(id) && id.length <= LIMITS.idLength && !design.components.some((c) => c.id !== except && c.id === id)
}

/** A fresh id for a new component of `type`: `service`, `service-2`, … */
export function freshId(design: Design, type: string): string {
  const stem = type.replace(/_/g, '-')
  const taken = new Set(design.components.map((c) => c.id))
  if (!taken.has(stem)) return stem
  for (let n = 2; ; n++) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`
}

/** Columns a new component may go in: three fit the canvas beside the side panel at 1280 px. */
const SLOT_COLUMNS = 3

/** Where a new component goes: the first place of a grid, three to a row, that no component covers. */
export function freeSlot(design: Design, catalogue: Catalogue): { x: number; y: number } {
  const taken = [...positions(design as never, catalogue).values()]
  for (let row = 0; ; row++) {
    for (let col = 0; col < SLOT_COLUMNS; col++) {
      const x = 40 + col * (NODE_W + 26)
      const y = 40 + row * (NODE_H + 54)
      if (!taken.some((p) => Math.abs(p.x - x) < NODE_W && Math.abs(p.y - y) < NODE_H)) return { x, y }
    }
  }
}

/** Components saved without positions get the shared layout's (src/domain/layout.ts); others keep theirs. */
export function withLayout(design: Design, catalogue: Catalogue): Design {
  if (design.components.every((c) => c.x !== undefined && c.y !== undefined)) return design
  const at = positions(design as never, catalogue)
  return { ...design, components: design.components.map((c) => ({ ...c, ...at.get(c.id) })) }
}

/** Every component placed again by the layered layout (Tidy): no link passes under a component. */
export function tidyUp(design: Design, catalogue: Catalogue): Design {
  const at = tidy(design as never, catalogue)
  return { ...design, components: design.components.map((c) => ({ ...c, ...at.get(c.id) })) }
}

/** A component whose links split (a load balancer unless told otherwise) shares its requests over them. */
export const splits = (c: Component, catalogue: Catalogue): boolean => routingOf(c, catalogue) === 'split'

/** A split's links share its requests evenly (the last takes the rounding, so they add up to 1). */
export function rebalance(design: Design, from: string, catalogue: Catalogue): Design {
  const source = design.components.find((c) => c.id === from)
  if (!source || !splits(source, catalogue)) return design
  const out = design.links.filter((l) => l.from === from)
  const share = Number((1 / out.length).toFixed(12))
  let assigned = 0
  const links = design.links.map((l) => {
    if (l.from !== from) return l
    assigned++
    const value = assigned === out.length ? 1 - share * (out.length - 1) : share
    return { ...l, share: Number(value.toFixed(12)) }
  })
  return { ...design, links }
}

/** Drops optional fields set back to "default" (undefined or empty) so the design says only what was chosen. */
function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T
}

/** A new component of `type` in the first free place; its id is returned beside the design. */
export function addComponent(design: Design, catalogue: Catalogue, type: string): { design: Design; id: string } {
  const id = freshId(design, type)
  const { x, y } = freeSlot(design, catalogue)
  return { design: { ...design, components: [...design.components, newComponent(catalogue, type, id, x, y)] }, id }
}

/** The components `from` may link to: not itself, not a traffic source, not one it links to already. */
export function linkTargets(design: Design, catalogue: Catalogue, from: string): Component[] {
  return design.components.filter(
    (o) =>
      o.id !== from &&
      !hasTrait(catalogue, o.type, 'source') &&
      !design.links.some((l) => l.from === from && l.to === o.id)
  )
}

/** A link from `from` to `to` (a split's links rebalanced); the same design when it may not be made. */
export function connect(design: Design, catalogue: Catalogue, from: string, to: string): Design {
  const known = design.components.some((c) => c.id === from)
  if (!known || !linkTargets(design, catalogue, from).some((c) => c.id === to)) return design
  return rebalance({ ...design, links: [...design.links, { from, to }] }, from, catalogue)
}

export function move(design: Design, id: string, x: number, y: number): Design {
  return { ...design, components: design.components.map((c) => (c.id === id ? { ...c, x, y } : c)) }
}

/** A component and its links; each split that linked to it shares its requests over the links left. */
export function deleteComponent(design: Design, catalogue: Catalogue, id: string): Design {
  let next: Design = {
    components: design.components.filter((c) => c.id !== id),
    links: design.links.filter((l) => l.from !== id && l.to !== id)
  }
  for (const from of new Set(design.links.filter((l) => l.to === id).map((l) => l.from)))
    next = rebalance(next, from, catalogue)
  return next
}

/** A link, its source's links rebalanced when it splits. */
export function deleteLink(design: Design, catalogue: Catalogue, index: number): Design {
  const removed = design.links[index]
  if (!removed) return design
  return rebalance({ ...design, links: design.links.filter((_, i) => i !== index) }, removed.from, catalogue)
}

/** A component renamed, its links with it; the same design when the new id is malformed or taken. */
export function rename(design: Design, id: string, newId: string): Design {
  if (id === newId || !isFreeId(design, newId, id)) return design
  const renamed = (x: string) => (x === id ? newId : x)
  return {
    components: design.components.map((c) => (c.id === id ? { ...c, id: newId } : c)),
    links: design.links.map((l) => ({ ...l, from: renamed(l.from), to: renamed(l.to) }))
  }
}

/** Fields of a component set (undefined: back to the default); a new routing rebalances its links. */
export function setField(design: Design, catalogue: Catalogue, id: string, patch: Partial<Component>): Design {
  const next = {
    ...design,
    components: design.components.map((c) => (c.id === id ? clean({ ...c, ...patch }) : c))
  }
  return 'routing' in patch && patch.routing !== undefined ? rebalance(next, id, catalogue) : next
}

/** Fields of a link set (undefined: back to the default). */
export function setLinkField(design: Design, index: number, patch: Partial<Link>): Design {
  return { ...design, links: design.links.map((l, i) => (i === index ? clean({ ...l, ...patch }) : l)) }
}
