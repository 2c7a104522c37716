import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import { type Component, type Design, LIMITS, type TrafficClass, type TrafficProfile } from './model.ts'

// The traffic equations, solved directly: per request of a class, the visits v each component
// receives are v = e + Pᵀv (e: the clients' share of the request, P: link share × what the source
// passes on). Components are solved one strongly connected group at a time in topological order,
// so an acyclic design costs O(links) and a cycle costs a dense solve of its own size only.

/** A design whose traffic does not settle: refused, never retried. `code` names it across a thread boundary. */
export class DivergentDesignError extends Error {
  readonly code = 'ENGINE_DIVERGENT'
}

export interface Flow {
  read: number
  write: number
}

export type Classes = 'read' | 'write'

export const carries = (traffic: TrafficClass, cls: Classes) => traffic === 'both' || traffic === cls

/** The share of a class that a component passes on: a type that absorbs reads answers its hits itself. */
export function passFactor(c: Component, cls: Classes, catalogue: Catalogue = CATALOGUE): number {
  if (cls === 'read' && hasTrait(catalogue, c.type, 'absorbsReads')) return 1 - (c.hitRatio ?? 0)
  return 1
}

/** Strongly connected groups in topological order (sources first), by Tarjan's algorithm, iteratively. */
export function stronglyConnectedGroups(n: number, out: readonly (readonly number[])[]): number[][] {
  let counter = 0
  const idx = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const groups: number[][] = []
  for (let start = 0; start < n; start++) {
    if (idx[start] >= 0) continue
    const work: { node: number; edge: number }[] = [{ node: start, edge: 0 }]
    idx[start] = low[start] = counter++
    stack.push(start)
    onStack[start] = 1
    while (work.length > 0) {
      const frame = work[work.length - 1]
      const edges = out[frame.node]
      if (frame.edge < edges.length) {
        const next = edges[frame.edge++]
        if (idx[next] < 0) {
          idx[next] = low[next] = counter++
          stack.push(next)
          onStack[next] = 1
          work.push({ node: next, edge: 0 })
        } else if (onStack[next]) low[frame.node] = Math.min(low[frame.node], idx[next])
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1].node
        low[parent] = Math.min(low[parent], low[frame.node])
      }
      if (low[frame.node] === idx[frame.node]) {
        const group: number[] = []
        let member: number
        do {
          member = stack.pop() as number
          onStack[member] = 0
          group.push(member)
        } while (member !== frame.node)
        groups.push(group)
      }
    }
  }
  // Tarjan emits groups in reverse topological order.
  return groups.reverse()
}

/** Solves (I − A)x = b in place by Gaussian elimination with partial pivoting; false when singular. */
function solveDense(a: Float64Array[], b: Float64Array): boolean {
  const k = b.length
  for (let col = 0; col < k; col++) {
    let pivot = col
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r
    if (Math.abs(a[pivot][col]) < 1e-12) return false
    if (pivot !== col) {
      ;[a[pivot], a[col]] = [a[col], a[pivot]]
      ;[b[pivot], b[col]] = [b[col], b[pivot]]
    }
    const rowCol = a[col]
    for (let r = col + 1; r < k; r++) {
      const f = a[r][col] / rowCol[col]
      if (f === 0) continue
      const row = a[r]
      for (let j = col; j < k; j++) row[j] -= f * rowCol[j]
      b[r] -= f * b[col]
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let s = b[r]
    for (let j = r + 1; j < k; j++) s -= a[r][j] * b[j]
    b[r] = s / a[r][r]
  }
  return true
}

export interface Visits {
  /** Per component (design order), the visits one request of each class makes to it. */
  read: Float64Array
  write: Float64Array
}

/**
 * Visits per request of each class, per component. Throws DivergentDesignError when a cycle that
 * carries traffic passes on at least all it receives (its system is singular or has no
 * non-negative solution), or when a cycle is larger than LIMITS.cycleComponents.
 */
export function visitsPerRequest(
  design: Design,
  keep?: Float64Array,
  linkFactor?: Float64Array,
  /** A component to enter instead of the clients (a request as it passes a link into it). */
  entry?: string,
  catalogue: Catalogue = CATALOGUE
): Visits {
  const n = design.components.length
  const index = new Map(design.components.map((c, i) => [c.id, i]))
  const entryAt = entry === undefined ? -1 : (index.get(entry) ?? -1)
  const outAll: number[][] = design.components.map(() => [])
  const inLinks: { from: number; share: number; traffic: TrafficClass }[][] = design.components.map(() => [])
  for (const [j, l] of design.links.entries()) {
    const from = index.get(l.from)
    const to = index.get(l.to)
    if (from === undefined || to === undefined) continue
    outAll[from].push(to)
    // A link's factor: the attempts per traversal when it retries after timeouts.
    inLinks[to].push({ from, share: (l.share ?? 1) * (linkFactor?.[j] ?? 1), traffic: l.traffic ?? 'both' })
  }
  const groups = stronglyConnectedGroups(n, outAll)
  const source = design.components.map((c) => hasTrait(catalogue, c.type, 'source'))
  const clients = source.filter(Boolean).length
  const solve = (cls: Classes): Float64Array => {
    const x = new Float64Array(n)
    // What a component passes on: its cache misses, times what it does not lose (shed load stops there).
    const pass = Float64Array.from(design.components, (c, i) => passFactor(c, cls, catalogue) * (keep?.[i] ?? 1))
    const group = new Int32Array(n).fill(-1)
    const position = new Int32Array(n)
    for (const [g, members] of groups.entries()) {
      members.forEach((m, i) => {
        group[m] = g
        position[m] = i
      })
    }
    for (const [g, members] of groups.entries()) {
      // What enters the group from the clients and from groups already solved.
      const b = Float64Array.from(members, (m) => {
        let s = entry !== undefined ? (m === entryAt ? 1 : 0) : source[m] ? 1 / clients : 0
        for (const l of inLinks[m])
          if (group[l.from] !== g && carries(l.traffic, cls)) s += l.share * pass[l.from] * x[l.from]
        return s
      })
      if (members.length === 1) {
        x[members[0]] = b[0]
        continue
      }
      if (members.length > LIMITS.cycleComponents) {
        throw new DivergentDesignError(
          `a cycle joins ${members.length} components; at most ${LIMITS.cycleComponents} may form one`
        )
      }
      if (b.every((v) => v === 0)) continue
      const a = members.map((m) => {
        const row = new Float64Array(members.length)
        row[position[m]] = 1
        for (const l of inLinks[m]) {
          if (group[l.from] === g && carries(l.traffic, cls)) row[position[l.from]] -= l.share * pass[l.from]
        }
        return row
      })
      const names = () =>
        members
          .map((m) => design.components[m].id)
          .sort()
          .join(' → ')
      if (!solveDense(a, b) || b.some((v) => !Number.isFinite(v) || v < -1e-9)) {
        throw new DivergentDesignError(
          `cycle with no exit: ${names()} passes on at least all it receives, so traffic does not settle`
        )
      }
      members.forEach((m, i) => {
        x[m] = Math.max(0, b[i])
      })
    }
    return x
  }
  return { read: solve('read'), write: solve('write') }
}

/**
 * Arrival rates per component id and class at a traffic profile: visits scaled by the class's rate.
 * `keep` (per component, design order) is the share of its arrivals each component does not lose;
 * `linkFactor` (per link) multiplies a link's share: attempts per traversal under retries.
 */
export function propagate(
  design: Design,
  traffic: TrafficProfile,
  keep?: Float64Array,
  linkFactor?: Float64Array,
  catalogue: Catalogue = CATALOGUE
): Map<string, Flow> {
  const v = visitsPerRequest(design, keep, linkFactor, undefined, catalogue)
  const read = traffic.peakRps * traffic.readRatio
  const write = traffic.peakRps * (1 - traffic.readRatio)
  return new Map(design.components.map((c, i) => [c.id, { read: v.read[i] * read, write: v.write[i] * write }]))
}

/**
 * The work one request costs the Monte-Carlo sampler, per class: the stations it visits and the
 * links it draws on the way (each visit of a component draws each of its outgoing links once).
 */
export function workPerRequest(
  design: Design,
  visits: Visits,
  catalogue: Catalogue = CATALOGUE
): { visits: number; work: number } {
  const outDegree = new Map<string, number>()
  for (const l of design.links) outDegree.set(l.from, (outDegree.get(l.from) ?? 0) + 1)
  let worst = { visits: 0, work: 0 }
  for (const cls of ['read', 'write'] as const) {
    let stations = 0
    let work = 0
    design.components.forEach((c, i) => {
      const v = visits[cls][i]
      if (!hasTrait(catalogue, c.type, 'source')) stations += v
      work += v * (1 + (outDegree.get(c.id) ?? 0))
    })
    worst = { visits: Math.max(worst.visits, stations), work: Math.max(worst.work, work) }
  }
  return worst
}

/**
 * Requests per second over each link at a traffic profile, as offered (before anything sheds): what
 * reaches its source of the classes it carries, times what the source passes on, times its share.
 */
export function linkRates(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue = CATALOGUE
): { from: string; to: string; rps: number }[] {
  const flows = propagate(design, traffic, undefined, undefined, catalogue)
  const byId = new Map(design.components.map((c) => [c.id, c]))
  return design.links.map((l) => {
    const from = byId.get(l.from)
    const flow = flows.get(l.from)
    let rps = 0
    if (from && flow)
      for (const cls of ['read', 'write'] as const)
        if (carries(l.traffic ?? 'both', cls)) rps += (l.share ?? 1) * passFactor(from, cls, catalogue) * flow[cls]
    return { from: l.from, to: l.to, rps: Math.round(rps * 100) / 100 }
  })
}
