// A design patch (issue 38): a suggestion's change as data, applied the same way by the grader
// that verifies it and by the web app's Apply button. Pure, no imports but shapes.
import type { DesignPatch, PatchOp } from './grade-schemas.ts'
import type { ComponentDocument, DesignDocument, Link } from './schemas.ts'

export type { DesignPatch, PatchOp } from './grade-schemas.ts'

/** The design with the patch applied, in order; the input is left as it was. Throws on an op that does not fit. */
export function applyPatch<D extends DesignDocument>(design: D, patch: DesignPatch): D {
  let components = [...design.components]
  let links = [...design.links]
  for (const op of patch) {
    if (op.op === 'set') {
      const at = components.findIndex((c) => c.id === op.component)
      if (at < 0) throw new Error(`no component ${op.component} to change`)
      components = components.map((c, i) => (i === at ? { ...c, [op.field]: op.value } : c))
    } else if (op.op === 'add_component') {
      if (components.some((c) => c.id === op.component.id)) throw new Error(`${op.component.id} is already there`)
      components = [...components, op.component]
    } else if (op.op === 'add_link') {
      links = [...links, op.link]
    } else {
      const at = links.findIndex((l) => l.from === op.from && l.to === op.to)
      if (at < 0) throw new Error(`no link from ${op.from} to ${op.to}`)
      links =
        op.op === 'remove_link'
          ? links.filter((_, i) => i !== at)
          : links.map((l, i) => (i === at ? { ...l, traffic: op.traffic } : l))
    }
  }
  return { ...design, components, links } as D
}

/** "a, b and c" */
export const listed = (names: readonly string[]): string =>
  names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`

const FIELD_WORDS: Record<string, string> = {
  instances: 'instances',
  concurrency: 'concurrency',
  serviceTimeMs: 'service time (ms)',
  hitRatio: 'hit ratio',
  replicas: 'read replicas'
}

const ORDINAL = ['no', 'a', 'a second', 'a third', 'a fourth', 'a fifth']

/**
 * The patch in words, read against the design it applies to: the text a suggestion shows is made
 * from its patch, so it cannot name a change the patch does not make (or one already made).
 */
export function describePatch(design: DesignDocument, patch: DesignPatch): string {
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const parts: string[] = []
  // Sets of one field to one value, grouped: "service, service-2 and service-3 to 4 instances each (now 2)".
  const sets = new Map<string, { field: string; value: number; ids: string[]; now: (number | undefined)[] }>()
  const added = new Set<string>()
  for (const op of patch) {
    if (op.op === 'set') {
      const key = `${op.field}=${op.value}`
      const group = sets.get(key) ?? { field: op.field, value: op.value, ids: [], now: [] }
      group.ids.push(op.component)
      group.now.push(byId.get(op.component)?.[op.field] as number | undefined)
      sets.set(key, group)
    } else if (op.op === 'add_component') added.add(op.component.id)
  }
  for (const g of sets.values()) {
    const nows = [...new Set(g.now.map((n) => n ?? 0))]
    const now = nows.length === 1 ? `now ${nows[0]}` : `now ${nows.join(' or ')}`
    const each = g.ids.length > 1 ? ' each' : ''
    if (g.field === 'replicas' && nows.length === 1 && g.value === nows[0] + 1 && g.value < ORDINAL.length)
      parts.push(`give ${listed(g.ids)} ${ORDINAL[g.value]} read replica${each} (replicas ${nows[0]} → ${g.value})`)
    else if (g.field === 'instances' && g.value === 2 && nows.length === 1 && nows[0] === 1)
      parts.push(`give ${listed(g.ids)} a second instance${each}`)
    else parts.push(`set the ${FIELD_WORDS[g.field]} of ${listed(g.ids)} to ${g.value}${each} (${now})`)
  }
  for (const op of patch) {
    if (op.op !== 'add_component') continue
    const c: ComponentDocument = op.component
    const into = patch.filter((o): o is Extract<PatchOp, { op: 'add_link' }> => o.op === 'add_link')
    const from = into.filter((o) => o.link.to === c.id).map((o) => o.link.from)
    const to = into.filter((o) => o.link.from === c.id).map((o) => o.link.to)
    const ratio = c.hitRatio === undefined ? '' : `, hit ratio ${c.hitRatio}`
    parts.push(
      `put a ${c.type.replace('_', ' ')} (${c.id}${ratio}) in front of ${listed(to)} for the reads of ${listed(from)}`
    )
  }
  for (const op of patch) {
    if (op.op === 'add_link' && !added.has(op.link.from) && !added.has(op.link.to))
      parts.push(`link ${op.link.from} to ${op.link.to}${linkClass(op.link)}`)
  }
  const text = parts.join('; ')
  return text.charAt(0).toUpperCase() + text.slice(1)
}

const linkClass = (l: Link) => (l.traffic && l.traffic !== 'both' ? ` for ${l.traffic}s` : '')
