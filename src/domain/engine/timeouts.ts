import { type Catalogue, hasTrait } from '../components.ts'
import { carries, type Flow, passFactor } from '../flows.ts'
import { type Design, type Link, networkTimeMs, type TrafficProfile } from '../model.ts'
import { createWords } from '../random.ts'
import { EngineBudgetError } from './budget.ts'
import { compileSojourns, drawLatency, type Sojourns, setSojourn } from './sojourns.ts'
import { type Built, linkStation, type TimeoutFigures, timeoutTables } from './stations.ts'
import { quantiles } from './statistics.ts'
import { compileWalker, samplePath, type Walker } from './walker.ts'

// Links with a timeout: traversals sampled below each, giving how often an attempt times out and
// what a successful traversal takes, retries included.

/** What sampling a design's timeouts needs that its passes do not change, and the draws so far. */
interface TimeoutSampling {
  design: Design
  index: Map<string, number>
  outgoing: Map<string, number[]>
  /** The links with a timeout, deepest first. */
  order: { l: Link; j: number }[]
  /** The stations' layout does not change between links or passes: one walker serves them all. */
  walker: Walker
  memo: Map<number, SampledTimeout>
}

export function timeoutSampling(design: Design, built: Built, traffic: TrafficProfile): TimeoutSampling {
  const outgoing = linksFrom(design)
  const depth = componentDepths(design, outgoing, built.catalogue)
  return {
    design,
    index: new Map(design.components.map((c, i) => [c.id, i])),
    outgoing,
    order: design.links
      .map((l, j) => ({ l, j }))
      .filter(({ l }) => l.timeoutMs !== undefined)
      .sort((a, b) => (depth.get(b.l.to) ?? 0) - (depth.get(a.l.to) ?? 0)),
    walker: compileWalker(design, built, traffic),
    memo: new Map()
  }
}

/**
 * For each link with a timeout: attempts drawn below it (its `to` entered as a request of the
 * link's mix of reads and writes would be), each timing out past `timeoutMs` and retried up to
 * `retries` times. Deeper timeouts are sampled first, so an outer one draws from their tables.
 */
export function sampleTimeouts(
  sampling: TimeoutSampling,
  built: Built,
  flows: Map<string, Flow>,
  keep: Float64Array | undefined,
  traffic: TrafficProfile,
  seed: number,
  samples: number,
  /** Whether the figures need their p95 (the passes that seek the load do not). */
  percentile: boolean
): (TimeoutFigures | null)[] {
  const { design, index, outgoing, order, walker, memo } = sampling
  const out: (TimeoutFigures | null)[] = design.links.map(() => null)
  let current = built
  // Compiled once: between links only the timeouts' stations change, and those are written anew below.
  const f = compileSojourns(current.stations, current.tables)
  for (const { l, j } of order) {
    const flow = flows.get(l.from)
    const from = design.components[index.get(l.from) as number]
    const reads = carries(l.traffic ?? 'both', 'read')
      ? (flow?.read ?? 0) * passFactor(from, 'read', built.catalogue)
      : 0
    const writes = carries(l.traffic ?? 'both', 'write') ? (flow?.write ?? 0) : 0
    walker.clients = Int32Array.of(index.get(l.to) as number)
    walker.readRatio = reads + writes > 0 ? reads / (reads + writes) : traffic.readRatio
    // The draws are seeded per link (common random numbers: f then moves with the load alone, and
    // the passes settle instead of chasing sampling noise). With the same stations below as last
    // time, the draws are last time's: its figures stand, and a larger count goes on from them.
    const key = timeoutKey(stationsBelow(design, current, outgoing, l.to), f, walker.readRatio)
    let known = memo.get(j)
    if (!known || !sameKey(known.key, key) || known.draws.count > samples) {
      known = {
        key,
        draws: {
          word: createWords(seed * 7919 + j),
          table: new Float64Array(samples),
          kept: 0,
          sum: 0,
          attempts: 0,
          timedOut: 0,
          lost: 0,
          failed: 0,
          count: 0
        },
        figures: null
      }
      memo.set(j, known)
    }
    if (!known.figures || known.draws.count < samples || (percentile && Number.isNaN(known.figures.p95Ms))) {
      drawTraversals(known.draws, samples, walker, f, l, traffic.payloadKb)
      known.figures = timeoutFigures(known.draws, l.retries ?? 0, percentile)
    }
    out[j] = known.figures
    current = withTimeouts(design, current, index, flows, traffic, keep, out)
    for (const o of order) {
      const at = current.linkStations[o.j]
      if (at >= 0) setSojourn(f, current.stations[at], current.tables.get(at) ?? null)
    }
  }
  return out
}

/** The traversals drawn below a link so far, and the source that goes on drawing them. */
interface TimeoutDraws {
  word: () => number
  /** The successful traversals in draw order: the first `kept` entries (the rest is room to grow). */
  table: Float64Array
  kept: number
  /** The table's sum, for its mean. */
  sum: number
  attempts: number
  timedOut: number
  /** Attempts lost below the link (shed or refused by a full queue). */
  lost: number
  failed: number
  count: number
}

/** Draws traversals of link `l` until `draws` holds `upTo`: each attempt times out past `timeoutMs` and is retried. */
function drawTraversals(draws: TimeoutDraws, upTo: number, walker: Walker, f: Sojourns, l: Link, payloadKb: number) {
  const { word } = draws
  const network = networkTimeMs(l, payloadKb) ?? 0
  const timeout = l.timeoutMs as number
  const retries = l.retries ?? 0
  // The counts in locals while drawing (a run out of steps throws, and its draws go with it).
  let { table, kept, sum, attempts, timedOut, lost, failed, count } = draws
  for (; count < upTo; count++) {
    let spent = 0
    let done = false
    for (let k = 0; k <= retries && !done; k++) {
      const length = samplePath(walker, word)
      if (walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
      const served = drawLatency(walker.visits, length, f, word)
      attempts++
      // An attempt lost below (shed, a full queue) fails at once, and is retried like a timeout.
      if (!served) {
        lost++
        continue
      }
      const below = f.drawn[0]
      if (network + below <= timeout) {
        if (kept === table.length) {
          const grown = new Float64Array(Math.max(16, 2 * kept, upTo))
          grown.set(table)
          table = grown
        }
        table[kept++] = spent + network + below
        sum += spent + network + below
        done = true
      } else {
        timedOut++
        spent += timeout
      }
    }
    if (!done) failed++
  }
  draws.table = table
  draws.kept = kept
  draws.sum = sum
  draws.attempts = attempts
  draws.timedOut = timedOut
  draws.lost = lost
  draws.failed = failed
  draws.count = count
}

function timeoutFigures(draws: TimeoutDraws, retries: number, percentile: boolean): TimeoutFigures {
  const share = draws.attempts > 0 ? draws.timedOut / draws.attempts : 0
  // Every failed attempt is retried: one that timed out, and one lost below.
  const failing = draws.attempts > 0 ? (draws.timedOut + draws.lost) / draws.attempts : 0
  // In draw order: a run draws from it by a uniform index, so it needs no sort; the p95 is a selection.
  // A view, not a copy: later draws only append past its end (or to a grown buffer).
  const table = draws.table.subarray(0, draws.kept)
  // A copy: `quantiles` may reorder what it is given.
  const p95Ms = !percentile ? Number.NaN : table.length > 0 ? quantiles(table.slice(), [0.95])[0] : 0
  return {
    timeoutShare: share,
    amplification: failing >= 1 ? retries + 1 : (1 - failing ** (retries + 1)) / (1 - failing),
    failedShare: draws.failed / draws.count,
    table,
    meanMs: draws.sum / Math.max(1, table.length),
    p95Ms
  }
}

/** A link's draws, what they were drawn from (the sojourns below it, the mix), and their figures. */
interface SampledTimeout {
  key: (number | Float64Array | null)[]
  draws: TimeoutDraws
  figures: TimeoutFigures | null
}

/** The stations a request entering `id` may visit: its components' and their links' (a superset of a walk's). */
function stationsBelow(design: Design, built: Built, outgoing: Map<string, number[]>, id: string): number[] {
  const seen = new Set([id])
  const queue = [id]
  const out: number[] = []
  for (let i = 0; i < queue.length; i++) {
    for (const s of built.byComponent.get(queue[i]) ?? []) out.push(s.index)
    for (const j of outgoing.get(queue[i]) ?? []) {
      if (built.linkStations[j] >= 0) out.push(built.linkStations[j])
      const to = design.links[j].to
      if (!seen.has(to)) {
        seen.add(to)
        queue.push(to)
      }
    }
  }
  return out
}

/** Per component id: the indices of the links leaving it, in design order. */
function linksFrom(design: Design): Map<string, number[]> {
  const outgoing = new Map<string, number[]>()
  design.links.forEach((l, j) => {
    const from = outgoing.get(l.from)
    if (from) from.push(j)
    else outgoing.set(l.from, [j])
  })
  return outgoing
}

function timeoutKey(below: number[], f: Sojourns, readRatio: number): SampledTimeout['key'] {
  const key: SampledTimeout['key'] = [readRatio]
  for (const s of below)
    key.push(s, f.serviceMs[s], f.cv[s], f.keep[s], f.waitProbability[s], f.waitMs[s], f.extraMs[s], f.table[s])
  return key
}

const sameKey = (a: SampledTimeout['key'], b: SampledTimeout['key']) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/**
 * `built` with its timeout stations figured from `timeouts` (those not sampled yet: network time
 * alone), as `buildStations` would build them; the components' stations are kept as they are.
 */
function withTimeouts(
  design: Design,
  built: Built,
  index: Map<string, number>,
  flows: Map<string, Flow>,
  traffic: TrafficProfile,
  keep: Float64Array | undefined,
  timeouts: readonly (TimeoutFigures | null)[]
): Built {
  const stations = built.stations.slice()
  design.links.forEach((l, j) => {
    const at = built.linkStations[j]
    if (l.timeoutMs !== undefined && at >= 0)
      stations[at] = linkStation(design, built.catalogue, index, j, at, flows, traffic, keep, timeouts[j])
  })
  return { ...built, stations, tables: timeoutTables(built.linkStations, timeouts), timeouts: [...timeouts] }
}

/** Each component's distance from the nearest client, in links (a link's depth orders timeouts). */
function componentDepths(design: Design, outgoing: Map<string, number[]>, catalogue: Catalogue): Map<string, number> {
  const depth = new Map<string, number>()
  const queue = design.components.filter((c) => hasTrait(catalogue, c.type, 'source')).map((c) => c.id)
  for (const id of queue) depth.set(id, 0)
  for (let i = 0; i < queue.length; i++) {
    for (const j of outgoing.get(queue[i]) ?? []) {
      const to = design.links[j].to
      if (!depth.has(to)) {
        depth.set(to, (depth.get(queue[i]) ?? 0) + 1)
        queue.push(to)
      }
    }
  }
  return depth
}
