import { CATALOGUE, type Catalogue } from '../components.ts'
import { propagate } from '../flows.ts'
import type { Design, TrafficProfile } from '../model.ts'
import { buildStations, type Station } from './stations.ts'
import { compileWalker, MAX_HOPS, WALK, type Walker } from './walker.ts'

// Every kind of path a request can take, with its probability, enumerated from the walker.

/** A kind of request path: the stations it visits (in any order: the sojourns add up) and its probability. */
export interface PathClass {
  stations: Int32Array
  probability: number
}

/** Past these, a design's paths are drawn one by one instead (a fan-out of many optional links). */
const MAX_PATH_CLASSES = 512
const MAX_ENUMERATION_STEPS = 50_000
/** Branches rarer than this are dropped: no run draws enough samples to meet one. */
const MIN_PATH_PROBABILITY = 1e-12

/** Enumerations a cache keeps for the next runs of the same structure (an analysis runs one design many times). */
const KNOWN_PATHS_LIMIT = 16

/**
 * `enumeratePaths`, remembered: its answer depends only on the walker's structure (not on the
 * load), and a load sweep or a failure scenario asks again for the same one. Keyed on every
 * array it reads, so a changed design never meets a stale answer; the oldest is forgotten first.
 */
export function knownPaths(w: Walker, known: Map<string, PathClass[] | null>): PathClass[] | null {
  // Parallel calls make a path a tree, not a set of stations: such paths are drawn one by one.
  if (w.parallel.includes(1)) return null
  const key = [
    w.readRatio,
    w.clients,
    w.kind,
    w.split,
    w.hitRatio,
    w.firstStation,
    w.stationCount,
    w.linkStart,
    w.linkTo,
    w.linkShare,
    w.linkRead,
    w.linkWrite,
    w.linkStation,
    w.linkStop,
    w.parallel
  ].join('|')
  if (known.has(key)) {
    const paths = known.get(key) as PathClass[] | null
    // Most recently used last.
    known.delete(key)
    known.set(key, paths)
    return paths
  }
  const paths = enumeratePaths(w)
  known.set(key, paths)
  if (known.size > KNOWN_PATHS_LIMIT) known.delete(known.keys().next().value as string)
  return paths
}

/**
 * Every kind of path a request can take, with its probability: the walk `samplePath` draws,
 * taken down every branch (client, read or write, replica, cache hit, each optional link) instead
 * of one. Null when the design has more kinds than are worth listing (parallel calls are
 * `knownPaths`'s to answer).
 */
function enumeratePaths(w: Walker): PathClass[] | null {
  const { kind, linkStart, linkTo, linkShare, firstStation, stationCount, hitRatio } = w
  /** A component being walked: its next link, the link after its last, and whether they are taken without a draw. */
  type Frame = { c: number; link: number; end: number; force: boolean; depth: number }
  // One branch of the walk still to explore: `enter` component c, or find the `next` one from the stack.
  type Branch = {
    op: 'next' | 'enter'
    c: number
    depth: number
    stack: readonly Frame[]
    visits: readonly number[]
    p: number
    read: boolean
  }
  const classes = new Map<string, PathClass>()
  let steps = 0
  const finish = (visits: readonly number[], p: number): boolean => {
    const stations = Int32Array.from(visits).sort()
    const key = stations.join(',')
    const known = classes.get(key)
    if (known) known.probability += p
    else if (classes.size >= MAX_PATH_CLASSES) return false
    else classes.set(key, { stations, probability: p })
    return true
  }
  // Depth first with an explicit stack (no recursion tied to the design's depth); branches are
  // pushed in reverse so they are explored in the order the sampler draws them.
  const todo: Branch[] = []
  for (let i = w.clients.length - 1; i >= 0; i--) {
    const share = 1 / w.clients.length
    const base = { op: 'enter', c: w.clients[i], depth: 0, stack: [], visits: [] } as const
    if (w.readRatio < 1) todo.push({ ...base, p: share * (1 - w.readRatio), read: false })
    if (w.readRatio > 0) todo.push({ ...base, p: share * w.readRatio, read: true })
  }
  // The ways a request goes on from component c: one frame with every link (calls), or one frame
  // per link a split may pick, with that link's share.
  const onwards = (c: number, depth: number, stack: readonly Frame[], carried: Uint8Array) => {
    const end = linkStart[c + 1]
    if (w.split[c] === 0) return [{ stack: [...stack, { c, link: linkStart[c], end, force: false, depth }], share: 1 }]
    const picks: { stack: Frame[]; share: number }[] = []
    for (let l = linkStart[c]; l < end; l++) {
      if (carried[l] === 1)
        picks.push({ stack: [...stack, { c, link: l, end: l + 1, force: true, depth }], share: linkShare[l] })
    }
    return picks.length > 0 ? picks : [{ stack: [...stack], share: 1 }]
  }
  while (todo.length > 0) {
    const { op, c, depth, stack, visits, p, read } = todo.pop() as Branch
    const carried = read ? w.linkRead : w.linkWrite
    if (op === 'enter') {
      if (depth > MAX_HOPS) {
        todo.push({ op: 'next', c, depth, stack, visits, p, read })
        continue
      }
      const ways = onwards(c, depth, stack, carried)
      const goOn = (branch: Omit<Branch, 'stack' | 'p'>, q: number) => {
        for (let i = ways.length - 1; i >= 0; i--)
          if (q * ways[i].share >= MIN_PATH_PROBABILITY)
            todo.push({ ...branch, stack: ways[i].stack, p: q * ways[i].share })
      }
      if (kind[c] === WALK.source) {
        goOn({ op: 'next', c, depth, visits, read }, p)
        continue
      }
      const copies = read ? stationCount[c] : 1
      for (let k = copies - 1; k >= 0; k--) {
        const q = p / copies
        const seen = [...visits, firstStation[c] + k]
        const branch = { op: 'next', c, depth, visits: seen, read } as const
        if (kind[c] === WALK.handsOff) todo.push({ ...branch, stack, p: q })
        else if (kind[c] === WALK.mayAnswer && read) {
          if (hitRatio[c] < 1) goOn(branch, q * (1 - hitRatio[c]))
          if (hitRatio[c] > 0 && q * hitRatio[c] >= MIN_PATH_PROBABILITY)
            todo.push({ ...branch, stack, p: q * hitRatio[c] })
        } else goOn(branch, q)
      }
      continue
    }
    let rest = stack
    let ended = true
    while (rest.length > 0) {
      if (++steps > MAX_ENUMERATION_STEPS) return null
      const top = rest[rest.length - 1]
      if (top.link >= top.end) {
        rest = rest.slice(0, -1)
        continue
      }
      const l = top.link
      rest = [...rest.slice(0, -1), { ...top, link: l + 1 }]
      const share = carried[l] !== 1 ? 0 : top.force ? 1 : linkShare[l]
      if (share <= 0) continue
      const via = w.linkStation[l] >= 0 ? [...visits, w.linkStation[l]] : visits
      if (p * share >= MIN_PATH_PROBABILITY) {
        // Below a timeout is its station's to draw: the walk goes on with the next link.
        if (w.linkStop[l] === 1) todo.push({ op: 'next', c, depth, stack: rest, visits: via, p: p * share, read })
        else
          todo.push({ op: 'enter', c: linkTo[l], depth: top.depth + 1, stack: rest, visits: via, p: p * share, read })
      }
      if (share < 1 && p * (1 - share) >= MIN_PATH_PROBABILITY)
        todo.push({ op: 'next', c, depth, stack: rest, visits, p: p * (1 - share), read })
      ended = false
      break
    }
    if (ended && !finish(visits, p)) return null
  }
  // A fixed order (by key), so the draws do not depend on the order the walk found the paths in.
  return [...classes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, path]) => path)
}

/**
 * The kinds of path requests take through a design, each a list of stations (`db:primary` for a
 * database's copies) with its probability; null when there are too many to list, and the
 * Monte-Carlo draws each sample's path instead. A timeout does not change which components a
 * request meets, so these paths go on below a link's timeout (its station stays on the path).
 */
export function requestPaths(
  design: Design,
  traffic: TrafficProfile,
  catalogue: Catalogue = CATALOGUE,
  /** A cache's `paths`, to reuse an enumeration across calls. */
  known = new Map<string, PathClass[] | null>()
): { stations: string[]; probability: number }[] | null {
  // The stations' layout only: the paths do not depend on the load or on what timeouts settle at.
  const flows = propagate(design, traffic, undefined, undefined, catalogue)
  const built = buildStations(design, catalogue, flows, traffic, undefined, undefined, false)
  const { stations } = built
  const name = (s: Station) =>
    s.name === s.componentId || s.kind === 'link' || s.kind === 'timeout' ? s.name : `${s.componentId}:${s.name}`
  const walker = compileWalker(design, built, traffic)
  walker.linkStop.fill(0)
  // Which components a request meets does not depend on the order of its calls.
  walker.parallel.fill(0)
  return (
    knownPaths(walker, known)?.map((path) => ({
      stations: Array.from(path.stations, (i) => name(stations[i])),
      probability: path.probability
    })) ?? null
  )
}
