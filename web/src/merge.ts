// A three-way merge of designs: the version both tabs started from (base), this tab's (mine) and
// the one saved meanwhile (theirs). Components are matched by id and links by their ends, then
// merged field by field: a field changed on one side only takes that change, and only a field
// changed on both sides to different values is a conflict (mine is kept until the learner says
// otherwise). Pure, so test/web/merge.test.ts checks it without a page.
import type { Catalogue } from '../../src/domain/components.ts'
import { type Component, type Design, type Link, rebalance } from './design.ts'

/** A field both sides changed, differently: where it is, and the three values. */
export interface MergeConflict {
  kind: 'component' | 'link'
  /** A component's id, or a link's `from->to`. */
  key: string
  /** The field, or `*` when one side deleted what the other changed. */
  field: string
  base: unknown
  mine: unknown
  theirs: unknown
}

export interface Merged {
  design: Design
  conflicts: MergeConflict[]
}

type Item = Record<string, unknown>

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** One object merged field by field (base undefined: both sides added it). */
function mergeFields(
  kind: MergeConflict['kind'],
  key: string,
  base: Item | undefined,
  mine: Item,
  theirs: Item,
  conflicts: MergeConflict[]
): Item {
  const out: Item = {}
  const fields = new Set([...Object.keys(mine), ...Object.keys(theirs), ...Object.keys(base ?? {})])
  for (const field of fields) {
    const b = base?.[field]
    const m = mine[field]
    const t = theirs[field]
    let value: unknown
    if (same(m, t) || same(t, b)) value = m
    else if (same(m, b)) value = t
    else {
      conflicts.push({ kind, key, field, base: b, mine: m, theirs: t })
      value = m
    }
    if (value !== undefined) out[field] = value
  }
  return out
}

/**
 * Items (components or links) merged by key: kept in mine's order, theirs' additions after.
 * An item deleted on one side is gone unless the other side changed it (a conflict: mine wins).
 */
function mergeItems<T extends object>(
  kind: MergeConflict['kind'],
  keyOf: (item: T) => string,
  base: T[],
  mine: T[],
  theirs: T[],
  conflicts: MergeConflict[]
): T[] {
  const b = new Map(base.map((x) => [keyOf(x), x as Item]))
  const m = new Map(mine.map((x) => [keyOf(x), x as Item]))
  const t = new Map(theirs.map((x) => [keyOf(x), x as Item]))
  const keys = [...m.keys(), ...[...t.keys()].filter((k) => !m.has(k))]
  // Deleted by mine and changed by theirs: a conflict, and mine (deleted) stands.
  for (const [key, was] of b)
    if (!m.has(key) && t.has(key) && !same(t.get(key), was))
      conflicts.push({ kind, key, field: '*', base: was, mine: undefined, theirs: t.get(key) })
  const out: T[] = []
  for (const key of keys) {
    const mineItem = m.get(key)
    const theirItem = t.get(key)
    const baseItem = b.get(key)
    if (mineItem && theirItem) out.push(mergeFields(kind, key, baseItem, mineItem, theirItem, conflicts) as T)
    else if (mineItem) {
      // Theirs deleted it: gone, unless mine changed it (then a conflict, and mine stands).
      if (!baseItem) out.push(mineItem as T)
      else if (!same(mineItem, baseItem)) {
        conflicts.push({ kind, key, field: '*', base: baseItem, mine: mineItem, theirs: undefined })
        out.push(mineItem as T)
      }
    } else if (theirItem && !baseItem) out.push(theirItem as T)
  }
  return out
}

export const linkKey = (l: Link): string => `${l.from}->${l.to}`

/**
 * base, mine and theirs merged. Links left without an end are dropped, and a splitting component
 * whose links the merge changed (both sides added or removed some) shares its requests evenly again.
 */
export function merge(base: Design, mine: Design, theirs: Design, catalogue: Catalogue): Merged {
  const conflicts: MergeConflict[] = []
  const components = mergeItems<Component>(
    'component',
    (c) => c.id,
    base.components,
    mine.components,
    theirs.components,
    conflicts
  )
  const ids = new Set(components.map((c) => c.id))
  const links = mergeItems<Link>('link', linkKey, base.links, mine.links, theirs.links, conflicts).filter(
    (l) => ids.has(l.from) && ids.has(l.to)
  )
  let design: Design = { components, links }
  const targets = (d: Design, from: string) =>
    d.links
      .filter((l) => l.from === from)
      .map(linkKey)
      .sort()
      .join()
  for (const from of new Set(links.map((l) => l.from))) {
    const now = targets(design, from)
    if (now !== targets(mine, from) && now !== targets(theirs, from)) design = rebalance(design, from, catalogue)
  }
  return { design, conflicts }
}

/** The merged design with each conflict settled: `theirs` takes their value, `mine` keeps ours. */
export function settle(merged: Merged, choice: 'mine' | 'theirs', catalogue: Catalogue): Design {
  if (choice === 'mine' || merged.conflicts.length === 0) return merged.design
  let components = [...merged.design.components]
  let links = [...merged.design.links]
  for (const c of merged.conflicts) {
    if (c.kind === 'component') {
      const at = components.findIndex((x) => x.id === c.key)
      if (c.field === '*') {
        if (c.theirs === undefined) components = components.filter((x) => x.id !== c.key)
        else if (at < 0) components.push(c.theirs as Component)
        else components[at] = c.theirs as Component
      } else if (at >= 0) components[at] = withField(components[at], c.field, c.theirs) as Component
    } else {
      const at = links.findIndex((l) => linkKey(l) === c.key)
      if (c.field === '*') {
        if (c.theirs === undefined) links = links.filter((l) => linkKey(l) !== c.key)
        else if (at < 0) links.push(c.theirs as Link)
        else links[at] = c.theirs as Link
      } else if (at >= 0) links[at] = withField(links[at], c.field, c.theirs) as Link
    }
  }
  const ids = new Set(components.map((c) => c.id))
  let design: Design = { components, links: links.filter((l) => ids.has(l.from) && ids.has(l.to)) }
  for (const from of new Set(
    merged.conflicts.filter((c) => c.kind === 'link' && c.field === '*').map((c) => c.key.split('->')[0])
  ))
    design = rebalance(design, from, catalogue)
  return design
}

function withField(item: object, field: string, value: unknown): Item {
  const out: Item = { ...(item as Item) }
  if (value === undefined) delete out[field]
  else out[field] = value
  return out
}

/** A conflict as a sentence: "cache's instances: yours 3, theirs 4". */
export function describeConflict(c: MergeConflict): string {
  const what = c.kind === 'component' ? c.key : `the link ${c.key.replace('->', ' → ')}`
  const show = (v: unknown) => (v === undefined ? 'removed' : typeof v === 'object' ? 'changed' : String(v))
  if (c.field === '*') return `${what}: yours ${show(c.mine)}, theirs ${show(c.theirs)}`
  return `${what}’s ${c.field}: yours ${show(c.mine)}, theirs ${show(c.theirs)}`
}
