import { type Catalogue, hasTrait, routingOf } from '../components.ts'
import { carries } from '../flows.ts'
import { type Design, LIMITS, type TrafficProfile } from '../model.ts'
import { uniform } from '../random.ts'
import type { Built } from './stations.ts'

// The path sampler: a design compiled to flat arrays, and one request's path drawn from it.

/** Links a walk goes down before it stops descending (a cycle ends there). */
export const MAX_HOPS = 64

/**
 * Markers in a drawn path around a component's parallel calls (negative: never a station): FORK
 * opens them, each taken call is BRANCH … BRANCH_END, and JOIN closes them, the slowest branch's
 * latency counting once.
 */
export const FORK = -1
export const BRANCH = -2
export const BRANCH_END = -3
export const JOIN = -4

/**
 * The design compiled for sampling: components, stations and links as flat arrays, so a path
 * is drawn without allocating (the Monte-Carlo draws tens of thousands of them per run).
 */
export interface Walker {
  clients: Int32Array
  readRatio: number
  /** Per component: what it does to a request (WALK below). */
  kind: Uint8Array
  /** Per component: 1 when its links split (each request takes exactly one), 0 when each is called on its own. */
  split: Uint8Array
  /** Per component: 1 when it makes its calls in parallel (the path marks them FORK … JOIN). */
  parallel: Uint8Array
  hitRatio: Float64Array
  firstStation: Int32Array
  stationCount: Int32Array
  linkStart: Int32Array
  linkTo: Int32Array
  linkShare: Float64Array
  linkRead: Uint8Array
  linkWrite: Uint8Array
  /** Per link: the station of its network time or timeout, or -1. */
  linkStation: Int32Array
  /** Per link: 1 when it has a timeout: its station stands for everything below, which the walk does not enter. */
  linkStop: Uint8Array
  /** Scratch: the stations of the path drawn last, and the walk's stack. */
  visits: Int32Array
  stackComponent: Int32Array
  stackLink: Int32Array
  /** Per frame: the link after its last, and whether its links are followed without a draw (a split's pick). */
  stackEnd: Int32Array
  stackForce: Uint8Array
  stackDepth: Int32Array
  /** Per frame: whether its calls run in parallel, and whether one of its branches is open. */
  stackParallel: Uint8Array
  stackBranch: Uint8Array
  /** Links drawn so far, for the run's step budget. */
  steps: number
  /** The run's step budget: the steps it may take in all. */
  limit: number
  /**
   * Whether a certain event (the only client, a link of share 1) still takes a draw: the
   * discrete-event mode draws them, which keeps its seeded runs equal to the golden results
   * (test/domain/fixtures/engine-golden.json); the Monte-Carlo spares them.
   */
  drawCertain: boolean
  /** The walks unrolled so far, by entry component × 2 + (0 reads, 1 writes); null where one is too long, undefined before. */
  programs: (Program | null | undefined)[]
}

/** What entering a component does to a request's walk, by its type's traits. */
export const WALK = { source: 0, handsOff: 1, mayAnswer: 2, station: 3 } as const

function walkOf(catalogue: Catalogue, type: string): number {
  if (hasTrait(catalogue, type, 'source')) return WALK.source
  if (hasTrait(catalogue, type, 'asynchronous')) return WALK.handsOff
  if (hasTrait(catalogue, type, 'absorbsReads')) return WALK.mayAnswer
  return WALK.station
}

export function compileWalker(design: Design, built: Built, traffic: TrafficProfile): Walker {
  const { stations } = built
  const index = new Map(design.components.map((c, i) => [c.id, i]))
  const n = design.components.length
  const firstStation = new Int32Array(n).fill(-1)
  const stationCount = new Int32Array(n)
  for (const s of stations) {
    // A link's station (network time or timeout) is the link's, not a copy of the component it leaves.
    if (s.kind === 'link' || s.kind === 'timeout') continue
    const i = index.get(s.componentId) as number
    if (firstStation[i] < 0) firstStation[i] = s.index
    stationCount[i]++
  }
  const linkStart = new Int32Array(n + 1)
  for (const l of design.links) linkStart[(index.get(l.from) as number) + 1]++
  for (let i = 0; i < n; i++) linkStart[i + 1] += linkStart[i]
  const fill = linkStart.slice(0, n)
  const m = design.links.length
  const linkTo = new Int32Array(m)
  const linkShare = new Float64Array(m)
  const linkRead = new Uint8Array(m)
  const linkWrite = new Uint8Array(m)
  const linkStation = new Int32Array(m)
  const linkStop = new Uint8Array(m)
  // Links keep their order within a component: the draws follow them in document order.
  for (const [j, l] of design.links.entries()) {
    const k = fill[index.get(l.from) as number]++
    linkStation[k] = built.linkStations[j]
    linkStop[k] = l.timeoutMs !== undefined ? 1 : 0
    const traffic = l.traffic ?? 'both'
    linkTo[k] = index.get(l.to) as number
    linkShare[k] = l.share ?? 1
    linkRead[k] = carries(traffic, 'read') ? 1 : 0
    linkWrite[k] = carries(traffic, 'write') ? 1 : 0
  }
  const { catalogue } = built
  return {
    clients: Int32Array.from(design.components.flatMap((c, i) => (hasTrait(catalogue, c.type, 'source') ? [i] : []))),
    readRatio: traffic.readRatio,
    // Mapped first: a typed array's `from` with a map function goes through the iterator protocol.
    kind: Uint8Array.from(design.components.map((c) => walkOf(catalogue, c.type))),
    split: Uint8Array.from(design.components.map((c) => (routingOf(c, catalogue) === 'split' ? 1 : 0))),
    parallel: Uint8Array.from(
      design.components.map((c) => (c.calls === 'parallel' && routingOf(c, catalogue) === 'calls' ? 1 : 0))
    ),
    hitRatio: Float64Array.from(design.components.map((c) => c.hitRatio ?? 0)),
    firstStation,
    stationCount,
    linkStart,
    linkTo,
    linkShare,
    linkRead,
    linkWrite,
    linkStation,
    linkStop,
    visits: new Int32Array(64),
    stackComponent: new Int32Array(MAX_HOPS + 2),
    stackLink: new Int32Array(MAX_HOPS + 2),
    stackEnd: new Int32Array(MAX_HOPS + 2),
    stackForce: new Uint8Array(MAX_HOPS + 2),
    stackDepth: new Int32Array(MAX_HOPS + 2),
    stackParallel: new Uint8Array(MAX_HOPS + 2),
    stackBranch: new Uint8Array(MAX_HOPS + 2),
    steps: 0,
    limit: LIMITS.engineSteps,
    drawCertain: false,
    programs: new Array(2 * n).fill(undefined)
  }
}

/**
 * Draws one request's path into `w.visits` and returns its length: the stations it visits in
 * order. Each link is followed on its own with probability `share` (depth first, in document
 * order); a cache hit stops the request; a queue hands work off asynchronously, so what follows
 * it is not on the request's path. No closures and no allocation: this runs per sample.
 */
export function samplePath(w: Walker, word: () => number): number {
  const { drawCertain, clients } = w
  const c = clients.length > 1 || drawCertain ? clients[Math.floor(uniform(word) * clients.length)] : clients[0]
  const read = uniform(word) < w.readRatio
  if (!drawCertain) {
    // The unrolled walk when there is one: the same draws, without the frames.
    const key = c * 2 + (read ? 0 : 1)
    let program = w.programs[key]
    if (program === undefined) {
      program = compileProgram(w, c, read)
      w.programs[key] = program
    }
    if (program !== null) {
      if (w.visits.length < program.longest) w.visits = new Int32Array(program.longest)
      return program.fixed === null ? runProgram(w, program, word) : fixedPath(w, program.fixed, program.steps)
    }
  }
  return walkStack(w, word, c, read)
}

/**
 * `samplePath`'s walk with a stack of frames, from client `c`: apart, so that the unrolled walk
 * above (most draws) is a small function its callers' loops take in.
 */
function walkStack(w: Walker, word: () => number, client: number, read: boolean): number {
  const { drawCertain } = w
  let c = client
  const { kind, linkStart, linkTo, linkShare, stackComponent, stackLink, stackEnd, stackForce, stackDepth } = w
  const { stackParallel, stackBranch } = w
  let visits = 0
  let sp = 0
  const carried = read ? w.linkRead : w.linkWrite
  let depth = 0
  for (;;) {
    // Enter component c at this depth.
    let follow = depth <= MAX_HOPS
    if (follow && kind[c] !== WALK.source) {
      const count = w.stationCount[c]
      if (visits === w.visits.length) {
        const grown = new Int32Array(visits * 2)
        grown.set(w.visits)
        w.visits = grown
      }
      w.visits[visits++] =
        !read || count === 1 ? w.firstStation[c] : w.firstStation[c] + Math.floor(uniform(word) * count)
      if (kind[c] === WALK.handsOff) follow = false
      else if (kind[c] === WALK.mayAnswer && read && uniform(word) < w.hitRatio[c]) follow = false
    }
    if (follow) {
      stackComponent[sp] = c
      stackDepth[sp] = depth
      stackParallel[sp] = w.parallel[c]
      stackBranch[sp] = 0
      if (w.parallel[c] === 1) visits = mark(w, visits, FORK)
      if (w.split[c] === 1) {
        // A split: one draw picks the one link this request takes (by cumulative share).
        const u = uniform(word)
        let cumulative = 0
        let pick = -1
        for (let l = linkStart[c]; l < linkStart[c + 1]; l++) {
          if (carried[l] !== 1) continue
          pick = l
          cumulative += linkShare[l]
          if (u < cumulative) break
        }
        w.steps += linkStart[c + 1] - linkStart[c]
        stackLink[sp] = pick < 0 ? linkStart[c + 1] : pick
        stackEnd[sp] = pick < 0 ? linkStart[c + 1] : pick + 1
        stackForce[sp] = 1
      } else {
        stackLink[sp] = linkStart[c]
        stackEnd[sp] = linkStart[c + 1]
        stackForce[sp] = 0
      }
      sp++
    }
    // Find the next component to enter: the next link taken, depth first.
    c = -1
    while (sp > 0) {
      const top = sp - 1
      if (stackBranch[top] === 1) {
        visits = mark(w, visits, BRANCH_END)
        stackBranch[top] = 0
      }
      const l = stackLink[top]
      if (l >= stackEnd[top]) {
        if (stackParallel[top] === 1) visits = mark(w, visits, JOIN)
        sp--
        continue
      }
      stackLink[top] = l + 1
      w.steps++
      const share = linkShare[l]
      if (carried[l] === 1 && (stackForce[top] === 1 || (share >= 1 && !drawCertain) || uniform(word) < share)) {
        c = linkTo[l]
        depth = stackDepth[top] + 1
        if (stackParallel[top] === 1) {
          visits = mark(w, visits, BRANCH)
          stackBranch[top] = 1
        }
        if (w.linkStation[l] >= 0) {
          if (visits === w.visits.length) {
            const grown = new Int32Array(visits * 2)
            grown.set(w.visits)
            w.visits = grown
          }
          w.visits[visits++] = w.linkStation[l]
        }
        // Below a timeout is its station's to draw: go on with the next link instead.
        if (w.linkStop[l] === 1) {
          c = -1
          continue
        }
        break
      }
    }
    if (c < 0) return visits
  }
}

/** Appends a marker (or station) to the drawn path, growing its buffer; returns the new length. */
function mark(w: Walker, length: number, value: number): number {
  if (length === w.visits.length) {
    const grown = new Int32Array(length * 2)
    grown.set(w.visits)
    w.visits = grown
  }
  w.visits[length] = value
  return length + 1
}

// A walk from one component, for one class of request, unrolled into a straight program: what
// `samplePath` does with its stack of frames, laid out depth first once, so a path is drawn by
// running forward through it (a link not taken, a cache hit or a split's pick is a jump ahead).
// It draws the same words in the same order as the stack walk, so a path is the same path.

/**
 * Instructions: push a station or marker, a random copy, a cache hit (its steps when missed), steps,
 * an optional link, a split, a jump, and a push with the steps that follow it (one dispatch for two).
 */
const PUSH = 0
const COPY = 1
const HIT = 2
const STEPS = 3
const DRAW = 4
const SPLIT = 5
const JUMP = 6
const PUSH_STEPS = 7

/** Past this many instructions (a design whose walk unrolls too far: shared subtrees, loops) the stack walk draws. */
const MAX_PROGRAM = 1 << 14

/** The unrolled walk: per instruction its opcode, an integer, a jump target and a threshold. */
interface Program {
  op: Uint8Array
  arg: Int32Array
  to: Int32Array
  threshold: Float64Array
  /** The most entries one path can have: the visits buffer is at least this long. */
  longest: number
  /** A walk without a draw (a leaf below a timeout): its one path and its steps; null otherwise. */
  fixed: Int32Array | null
  steps: number
}

/**
 * The program of a walk entering component `entry` for reads or writes; null when it would be too
 * long. Only for walks without `drawCertain` (the discrete-event mode takes the stack walk).
 */
function compileProgram(w: Walker, entry: number, read: boolean): Program | null {
  const op: number[] = []
  const arg: number[] = []
  const to: number[] = []
  const threshold: number[] = []
  let pushes = 0
  const carried = read ? w.linkRead : w.linkWrite
  const emit = (o: number, a = 0, t = 0, x = 0) => {
    op.push(o)
    arg.push(a)
    to.push(t)
    threshold.push(x)
    if (o === PUSH || o === COPY || o === PUSH_STEPS) pushes++
    return op.length - 1
  }
  // Depth first, as samplePath walks (recursion at most MAX_HOPS deep).
  const enter = (c: number, depth: number): boolean => {
    if (op.length > MAX_PROGRAM) return false
    if (depth > MAX_HOPS) return true
    let hit = -1
    if (w.kind[c] !== WALK.source) {
      const count = w.stationCount[c]
      if (!read || count === 1) emit(PUSH, w.firstStation[c])
      else emit(COPY, w.firstStation[c], count)
      if (w.kind[c] === WALK.handsOff) return true
      if (w.kind[c] === WALK.mayAnswer && read) hit = emit(HIT, 0, 0, w.hitRatio[c])
    }
    const parallel = w.parallel[c] === 1
    if (parallel) emit(PUSH, FORK)
    const links: number[] = []
    for (let l = w.linkStart[c]; l < w.linkStart[c + 1]; l++) if (carried[l] === 1) links.push(l)
    const all = w.linkStart[c + 1] - w.linkStart[c]
    if (w.split[c] === 1) {
      // The pick by cumulative share (summed in the walk's order), the last carried link past them all.
      const split = emit(SPLIT, links.length, 0, all)
      let cumulative = 0
      const rows = links.map((l) => {
        cumulative += w.linkShare[l]
        return emit(JUMP, l, 0, cumulative)
      })
      const ends: number[] = []
      for (const [i, l] of links.entries()) {
        to[rows[i]] = op.length
        if (!link(l, depth, true, parallel)) return false
        ends.push(emit(JUMP))
      }
      for (const e of ends) to[e] = op.length
      to[split] = op.length
    } else {
      // Folded into the instruction before when it is a push or a cache hit (no jump lands between them).
      const last = op.length - 1
      if (all > 0 && last >= 0 && op[last] === PUSH) {
        op[last] = PUSH_STEPS
        to[last] = all
      } else if (all > 0 && last >= 0 && op[last] === HIT && last === hit) arg[last] = all
      else if (all > 0) emit(STEPS, all)
      for (const l of links) if (!link(l, depth, false, parallel)) return false
    }
    if (parallel) emit(PUSH, JOIN)
    if (hit >= 0) to[hit] = op.length
    return true
  }
  const link = (l: number, depth: number, force: boolean, parallel: boolean): boolean => {
    const share = w.linkShare[l]
    const draw = !force && share < 1 ? emit(DRAW, 0, 0, share) : -1
    if (parallel) emit(PUSH, BRANCH)
    if (w.linkStation[l] >= 0) emit(PUSH, w.linkStation[l])
    // Below a timeout is its station's to draw.
    if (w.linkStop[l] !== 1 && !enter(w.linkTo[l], depth + 1)) return false
    if (parallel) emit(PUSH, BRANCH_END)
    if (draw >= 0) to[draw] = op.length
    return true
  }
  if (!enter(entry, 0) || op.length > MAX_PROGRAM) return null
  const fixed = op.every((o) => o === PUSH || o === PUSH_STEPS || o === STEPS)
  return {
    op: Uint8Array.from(op),
    arg: Int32Array.from(arg),
    to: Int32Array.from(to),
    threshold: Float64Array.from(threshold),
    longest: pushes,
    fixed: fixed ? Int32Array.from(op.flatMap((o, i) => (o === STEPS ? [] : [arg[i]]))) : null,
    steps: op.reduce((sum, o, i) => sum + (o === STEPS ? arg[i] : o === PUSH_STEPS ? to[i] : 0), 0)
  }
}

/** A program without draws, run: its path copied into `w.visits` (long enough), its steps counted. */
function fixedPath(w: Walker, path: Int32Array, steps: number): number {
  const visits = w.visits
  for (let i = 0; i < path.length; i++) visits[i] = path[i]
  w.steps += steps
  return path.length
}

/** 2^−32: a word times it is `uniform`'s number, written out (V8 left uniform's call in runProgram uninlined). */
const TO_UNIT = 1 / 4294967296

/** Runs a program into `w.visits` (long enough) and returns the path's length; counts its steps on `w`. */
function runProgram(w: Walker, p: Program, word: () => number): number {
  const { op, arg, to, threshold } = p
  const visits = w.visits
  const end = op.length
  let n = 0
  let steps = w.steps
  let pc = 0
  while (pc < end) {
    switch (op[pc]) {
      case PUSH:
        visits[n++] = arg[pc++]
        break
      case PUSH_STEPS:
        visits[n++] = arg[pc]
        steps += to[pc++]
        break
      case COPY:
        visits[n++] = arg[pc] + Math.floor(word() * TO_UNIT * to[pc])
        pc++
        break
      case HIT:
        // A hit answers the read: nothing of the component's calls follows.
        if (word() * TO_UNIT < threshold[pc]) pc = to[pc]
        else steps += arg[pc++]
        break
      case STEPS:
        steps += arg[pc++]
        break
      case DRAW:
        pc = word() * TO_UNIT < threshold[pc] ? pc + 1 : to[pc]
        break
      case SPLIT: {
        const u = word() * TO_UNIT
        const k = arg[pc]
        steps += threshold[pc]
        if (k === 0) {
          pc = to[pc]
          break
        }
        // The pick's step (a split frame looks at its one link).
        steps++
        let i = 0
        while (i < k - 1 && !(u < threshold[pc + 1 + i])) i++
        pc = to[pc + 1 + i]
        break
      }
      default:
        pc = to[pc]
    }
  }
  w.steps = steps
  return n
}
