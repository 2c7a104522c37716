import type { Analysis } from '../../src/domain/analysis.ts'
import type { ComponentResult, SimulationResult } from '../../src/domain/engine.ts'
import type { GradeItem } from '../../src/domain/grading.ts'
import { NODE_H, NODE_W, positions } from '../../src/domain/layout.ts'
import type { ComponentType, Component as DomainComponent, Link } from '../../src/domain/model.ts'

// The design as the web app edits it: the API's shapes, the palette's defaults, and a layout for
// designs saved without positions.

export type { ComponentType, Link, TrafficProfile } from '../../src/domain/model.ts'

// The shapes are the API's own (type-only imports: nothing of the server is bundled but the list
// of component types). A component edited here may lack the fields a client does not need.
import { CATALOGUE } from '../../src/domain/components.ts'
export const TYPES = Object.keys(CATALOGUE)

type Sizing = 'instances' | 'concurrency' | 'serviceTimeMs'
export type Component = Omit<DomainComponent, Sizing> & Partial<Pick<DomainComponent, Sizing>>
export interface Design {
  components: Component[]
  links: Link[]
}

export interface Workspace {
  id: string
  name: string
  description: string
  design: Design
  version: number
  updatedAt: string
}

export type { ComponentResult } from '../../src/domain/engine.ts'
export type Overall = SimulationResult['overall']

export interface Run {
  id: string
  status: 'queued' | 'running' | 'completed' | 'failed'
  error: string | null
  createdAt: string
  result?: {
    mode: string
    samples: number
    components: ComponentResult[]
    overall: Overall
    links?: { from: string; to: string; timeoutShare: number; retryAmplification: number; failedShare: number }[]
    analysis?: Analysis
  } | null
  overall?: Overall | null
}

export type { Analysis } from '../../src/domain/analysis.ts'

/** POST /workspaces/:id/preview: the analytic figures of the saved design, at once. */
export interface Preview {
  overall: Overall
  components: ComponentResult[]
  cost: { perMonth: number }
  availability: { fraction: number }
}

export type { GradeItem } from '../../src/domain/grading.ts'

export interface Grade {
  id: string
  status: Run['status']
  score: number | null
  items: GradeItem[] | null
  /** The rubric version that scored it (null on grades made before versions were kept). */
  rubricVersion: number | null
  error: string | null
}

export const LABELS: Record<ComponentType, string> = {
  client: 'Client',
  cdn: 'CDN',
  load_balancer: 'Load balancer',
  service: 'Service',
  cache: 'Cache',
  database: 'Database',
  queue: 'Queue',
  worker: 'Worker',
  object_storage: 'Object storage',
  external: 'External API'
}

/** Icons on a 24 × 24 grid, drawn as strokes. */
export const ICONS: Record<ComponentType, string> = {
  client: 'M3 5h18v11H3z M8 20h8 M12 16v4',
  cdn: 'M12 3a9 9 0 1 0 0.01 0z M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18',
  load_balancer: 'M4 12h6 M10 12l9-7 M10 12h9 M10 12l9 7',
  service: 'M5 4h14v16H5z M8 8h8 M8 12h8 M8 16h5',
  cache: 'M13 2L5 14h6l-1 8 8-12h-6z',
  database: 'M5 6c0-4 14-4 14 0v12c0 4-14 4-14 0z M5 6c0 4 14 4 14 0 M5 12c0 4 14 4 14 0',
  queue: 'M3 8h18 M3 12h18 M3 16h18 M17 5l4 3-4 3',
  worker: 'M12 8a4 4 0 1 0 0.01 0z M12 2v3 M12 19v3 M2 12h3 M19 12h3 M5 5l2 2 M17 17l2 2 M5 19l2-2 M17 7l2-2',
  object_storage: 'M4 7h16l-2 13H6z M3 4h18v3H3z',
  external: 'M7 18a5 5 0 0 1 0-10 6 6 0 0 1 11 1 4 4 0 0 1-1 9z'
}

/** What a new component of each type starts with: a plausible small deployment. */
export function newComponent(type: ComponentType, id: string, x: number, y: number): Component {
  const base: Component = { id, type, instances: 2, concurrency: 8, serviceTimeMs: 20, x, y }
  switch (type) {
    case 'client':
      // A client only sends traffic: it needs nothing but its id and type.
      return { id, type, x, y }
    case 'load_balancer':
      return { ...base, concurrency: 500, serviceTimeMs: 0.5 }
    case 'cdn':
      return { ...base, concurrency: 1000, serviceTimeMs: 2, hitRatio: 0.9 }
    case 'cache':
      return { ...base, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8 }
    case 'database':
      return { ...base, instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
    case 'queue':
      return { ...base, concurrency: 100, serviceTimeMs: 2 }
    case 'worker':
      return { ...base, concurrency: 4, serviceTimeMs: 50 }
    case 'object_storage':
      return { ...base, instances: 3, concurrency: 100, serviceTimeMs: 30 }
    case 'external':
      return { ...base, instances: 1, concurrency: 50, serviceTimeMs: 120, delay: true }
    default:
      return base
  }
}

/** A fresh id for a new component of `type`: `service`, `service-2`, … */
export function freshId(design: Design, type: ComponentType): string {
  const stem = type.replace(/_/g, '-')
  const taken = new Set(design.components.map((c) => c.id))
  if (!taken.has(stem)) return stem
  for (let n = 2; ; n++) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`
}

export { NODE_H, NODE_W } from '../../src/domain/layout.ts'

/** Columns a new component may go in: three fit the canvas beside the side panel at 1280 px. */
const SLOT_COLUMNS = 3

/** Where a new component goes: the first place of a grid, three to a row, that no component covers. */
export function freeSlot(design: Design): { x: number; y: number } {
  const taken = [...positions(design as never).values()]
  for (let row = 0; ; row++) {
    for (let col = 0; col < SLOT_COLUMNS; col++) {
      const x = 40 + col * (NODE_W + 26)
      const y = 40 + row * (NODE_H + 54)
      if (!taken.some((p) => Math.abs(p.x - x) < NODE_W && Math.abs(p.y - y) < NODE_H)) return { x, y }
    }
  }
}

/** Components saved without positions get the shared layout's (src/domain/layout.ts); others keep theirs. */
export function withLayout(design: Design): Design {
  if (design.components.every((c) => c.x !== undefined && c.y !== undefined)) return design
  const at = positions(design as never)
  return { ...design, components: design.components.map((c) => ({ ...c, ...at.get(c.id) })) }
}

/** A split (a load balancer unless told otherwise) shares its requests evenly over its links. */
export const splits = (c: Component): boolean =>
  (c.routing ?? (c.type === 'load_balancer' ? 'split' : 'calls')) === 'split'

export function rebalance(design: Design, from: string): Design {
  const source = design.components.find((c) => c.id === from)
  if (!source || !splits(source)) return design
  const out = design.links.filter((l) => l.from === from)
  const share = Number((1 / out.length).toFixed(12))
  let assigned = 0
  const links = design.links.map((l) => {
    if (l.from !== from) return l
    assigned++
    // The last link takes the rounding, so the shares add up to 1 exactly.
    const value = assigned === out.length ? 1 - share * (out.length - 1) : share
    return { ...l, share: Number(value.toFixed(12)) }
  })
  return { ...design, links }
}

export const utilizationBand = (u: number): 'low' | 'mid' | 'high' | 'over' =>
  u >= 1 ? 'over' : u >= 0.85 ? 'high' : u >= 0.6 ? 'mid' : 'low'
