// A design as a change to another: the components added or changed (whole), the ids removed, and
// the links when they changed. A page closing sends this, not the whole design, in a keepalive
// request (at most 64 KB); the api applies it to the version it was made against.
import type { DesignChange, DesignDocument } from './schemas.ts'

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** What turns `base` into `next`; an empty object when nothing changed. */
export function diffDesign(base: DesignDocument, next: DesignDocument): DesignChange {
  const before = new Map(base.components.map((c) => [c.id, c]))
  const after = new Set(next.components.map((c) => c.id))
  const change: DesignChange = {}
  const changed = next.components.filter((c) => !same(before.get(c.id), c))
  const removed = base.components.filter((c) => !after.has(c.id)).map((c) => c.id)
  if (changed.length > 0) change.components = changed
  if (removed.length > 0) change.removed = removed
  if (!same(base.links, next.links)) change.links = next.links
  return change
}

/** `design` with `change` applied: removed ids dropped, changed components replaced in place, new ones appended. */
export function applyDesignChange(design: DesignDocument, change: DesignChange): DesignDocument {
  const removed = new Set(change.removed ?? [])
  const changed = new Map((change.components ?? []).map((c) => [c.id, c]))
  const kept = design.components.filter((c) => !removed.has(c.id) || changed.has(c.id))
  const present = new Set(kept.map((c) => c.id))
  return {
    components: [
      ...kept.map((c) => changed.get(c.id) ?? c),
      ...(change.components ?? []).filter((c) => !present.has(c.id))
    ],
    links: change.links ?? design.links
  }
}
