// A design's problems as sentences with their subject: validateDesign says "must be an integer from
// 1 to 1000" beside a field; an API consumer reads "Instances of api must be an integer from 1 to
// 1000". Paths are unchanged, so a client still places each beside what it names.
import { COMPONENT_FIELDS } from './components.ts'
import type { Design, Problem } from './model.ts'

const OTHER_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  id: 'The id',
  type: 'The type',
  name: 'The name',
  routing: 'Routing',
  balancing: 'Balancing',
  delay: 'Delay',
  zones: 'Zones',
  x: 'The position',
  y: 'The position',
  share: 'The share',
  traffic: 'Traffic',
  latencyMs: 'Network latency',
  bandwidthMbps: 'Bandwidth',
  timeoutMs: 'The timeout',
  retries: 'Retries',
  from: 'The source',
  to: 'The target'
})

/** A fragment ("must be …", "is required …", "only a …", "one of …") needs its subject; a sentence has one. */
const FRAGMENT = /^(must|is|only|one of)\b/

function labelOf(field: string): string {
  const known = (COMPONENT_FIELDS as Record<string, { label: string } | undefined>)[field]
  return known?.label ?? OTHER_FIELDS[field] ?? field
}

/** Each problem whose message is a fragment, given its subject: the field and the component or link it is on. */
export function withSubjects(problems: Problem[], design: Design): Problem[] {
  return problems.map((p) => {
    if (!FRAGMENT.test(p.message)) return p
    const at = /^\/(components|links)\/(\d+)\/([A-Za-z]+)$/.exec(p.path)
    if (!at) return p
    const [, kind, index, field] = at
    const owner =
      kind === 'components'
        ? design.components[Number(index)]?.id
        : (() => {
            const l = design.links[Number(index)]
            return l ? `the link ${l.from} → ${l.to}` : undefined
          })()
    if (owner === undefined) return p
    const verb = /^(must|is)\b/.test(p.message) ? ' ' : p.message.startsWith('one of') ? ' must be ' : ': '
    return { ...p, message: `${labelOf(field)} of ${owner}${verb}${p.message}` }
  })
}
