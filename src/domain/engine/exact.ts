import { type MdcWait, mdcWait } from '../mdc.ts'
import { mg1WaitDecay, serviceExcess } from '../mg1.ts'
import {
  cdfOf,
  convolved,
  cumulated,
  DAMPING,
  exponential,
  fromCdf,
  type Law,
  mdcSojourn,
  mg1Spectrum,
  multiplied,
  SIZE,
  type Spectrum,
  serviceMasses,
  shifted
} from './laws.ts'
import type { Station } from './stations.ts'
import { MAX_HOPS, WALK, type Walker } from './walker.ts'

// The analytic mode's end-to-end latency distribution, exactly, where every station a request can
// meet has an exact sojourn law: M/M/c (exponential service, Poisson arrivals, no queue limit),
// M/G/1 (one server a queue, Poisson arrivals, no queue limit, constant or gamma service), M/D/c
// (constant service, the same), a pure delay of any service law the product draws, a link's
// network time, or a saturated station (unbounded). The walk the sampler draws is composed
// instead: a station's sojourn is convolved with what follows it, the branches a request may take
// are mixed by their probabilities, and parallel calls' slowest branch has the product of the
// branches' CDFs (independent branches). Everything is a distribution on one lattice of SIZE
// points of step h; each operation keeps the mean (a value falls between the two points around it
// in proportion: a constant, an exponential's convolution split onto the lattice linearly, a gamma
// or a residual service time from its tail's integrals; an M/D/c wait's by Simpson's rule, to
// second order), so a quantile is off by far less than h.

/** Operations (a station, a mix, a fork) past which the walk is drawn instead (a fan-out that multiplies). */
const MAX_OPS = 4096
/** Each station's share of the range: its sojourn beyond mean × this is below e^(−20) (a path of them, below the p99's reach). */
const TAIL = 20
/** Widenings of the range when the p99 still lies beyond it. */
const WIDENINGS = 4

/** How the walk composes a request's latency, over some representation D of a latency's law. */
interface Algebra<D> {
  /** Nothing more: a latency of 0. */
  zero: D
  /** The station's sojourn, then `next`; null when the station has no exact law. */
  station(s: Station, next: D): D | null
  /** One of the parts, each with its probability (adding up to 1). */
  mix(parts: { weight: number; d: D }[]): D
  /** The slowest of the branches, each taken with its share, then `next`. */
  fork(branches: { share: number; d: D }[], next: D): D
}

/**
 * How the lattice composes a station's sojourn, by its true law (the one drawLatency draws).
 */
type StationLaw =
  | { kind: 'saturated' | 'constant' | 'exponential' | 'mmc' | 'gamma' }
  /** One server a queue: ρ, and the rate of the wait's tail per mean service time (Lundberg's). */
  | { kind: 'mg1'; rho: number; decay: number }
  /** Constant service on c servers a queue (c > 1). */
  | { kind: 'mdc'; c: number; wait: MdcWait }

/**
 * A station's exact law, or null where it has none: bursty arrivals, a finite queue, or several
 * servers a queue with service neither exponential nor constant (G/G/c); M/D/c past the budget of
 * its transform (within about 0.1 % of saturation).
 */
function lawOf(s: Station): StationLaw | null {
  if (s.saturated) return { kind: 'saturated' }
  if (s.kind === 'link') return { kind: 'constant' }
  const cv = s.serviceTimeCv
  if (s.kind === 'delay') return { kind: cv === 0 ? 'constant' : cv === 1 ? 'exponential' : 'gamma' }
  if (s.kind !== 'queue' || s.arrivalCv !== 1 || s.queueLimit !== null) return null
  if (cv === 1) return { kind: 'mmc' }
  if (s.servers === s.queues) return { kind: 'mg1', rho: s.utilization, decay: mg1WaitDecay(s.utilization, cv) }
  if (cv !== 0) return null
  const c = s.servers / s.queues
  // No arrivals: nobody waits.
  if (!(s.utilization > 0)) return { kind: 'constant' }
  const wait = mdcWait(s.utilization * c, c)
  return wait && { kind: 'mdc', c, wait }
}

/** Each station's law, worked out once a call (M/D/c's roots and transform are not free). */
function lawsOf(stations: Station[]): (s: Station) => StationLaw | null {
  const laws: (StationLaw | null | undefined)[] = new Array(stations.length)
  return (s) => {
    let law = laws[s.index]
    if (law === undefined) {
      law = lawOf(s)
      laws[s.index] = law
    }
    return law
  }
}

/**
 * The walk of one class of request from component c, composed in `a` with `next` after it:
 * the unrolled walk of walker.ts (compileProgram), branch for branch. Null when a station has
 * no exact law or the walk takes more than MAX_OPS operations.
 */
function compose<D>(
  w: Walker,
  stations: Station[],
  a: Algebra<D>,
  read: boolean,
  c: number,
  depth: number,
  next: D,
  ops: { n: number }
): D | null {
  if (depth > MAX_HOPS) return next
  if (++ops.n > MAX_OPS) return null
  const carried = read ? w.linkRead : w.linkWrite
  const onward = (l: number, after: D): D | null => {
    // A timeout's station stands for what is below it: it has no exact law.
    if (w.linkStop[l] === 1) return null
    const below = compose(w, stations, a, read, w.linkTo[l], depth + 1, after, ops)
    if (below === null || w.linkStation[l] < 0) return below
    return a.station(stations[w.linkStation[l]], below)
  }
  const links = (after: D): D | null => {
    const taken: number[] = []
    for (let l = w.linkStart[c]; l < w.linkStart[c + 1]; l++) if (carried[l] === 1) taken.push(l)
    if (taken.length === 0) return after
    if (w.split[c] === 1) {
      // One link by cumulative share, the last taking whatever the others leave (as the sampler picks).
      const parts: { weight: number; d: D }[] = []
      let cumulative = 0
      for (const [i, l] of taken.entries()) {
        const from = Math.min(1, cumulative)
        cumulative += w.linkShare[l]
        const weight = (i === taken.length - 1 ? 1 : Math.min(1, cumulative)) - from
        if (weight <= 0) continue
        const d = onward(l, after)
        if (d === null) return null
        parts.push({ weight, d })
      }
      return parts.length === 0 ? after : a.mix(parts)
    }
    if (w.parallel[c] === 1) {
      const branches: { share: number; d: D }[] = []
      for (const l of taken) {
        const d = onward(l, a.zero)
        if (d === null) return null
        branches.push({ share: Math.min(1, w.linkShare[l]), d })
      }
      return a.fork(branches, after)
    }
    // Calls in sequence: their sojourns add up, in any order.
    let rest = after
    for (let i = taken.length - 1; i >= 0; i--) {
      const l = taken[i]
      const share = w.linkShare[l]
      if (share <= 0) continue
      const d = onward(l, rest)
      if (d === null) return null
      rest =
        share >= 1
          ? d
          : a.mix([
              { weight: share, d },
              { weight: 1 - share, d: rest }
            ])
    }
    return rest
  }
  if (w.kind[c] === WALK.source) return links(next)
  let after: D | null
  if (w.kind[c] === WALK.handsOff) after = next
  else if (w.kind[c] === WALK.mayAnswer && read) {
    const hit = w.hitRatio[c]
    const miss = hit < 1 ? links(next) : next
    if (miss === null) return null
    after =
      hit <= 0
        ? miss
        : hit >= 1
          ? next
          : a.mix([
              { weight: hit, d: next },
              { weight: 1 - hit, d: miss }
            ])
  } else after = links(next)
  if (after === null) return null
  const copies = read ? w.stationCount[c] : 1
  const parts: { weight: number; d: D }[] = []
  for (let k = 0; k < copies; k++) {
    const d = a.station(stations[w.firstStation[c] + k], after)
    if (d === null) return null
    parts.push({ weight: 1 / copies, d })
  }
  return copies === 1 ? parts[0].d : a.mix(parts)
}

/** Whether reads and writes take the same walks: no link carries one only, no cache answers, no copies to spread reads over. */
function classBlind(w: Walker): boolean {
  for (let l = 0; l < w.linkRead.length; l++) if (w.linkRead[l] !== w.linkWrite[l]) return false
  for (let c = 0; c < w.kind.length; c++) {
    if (w.kind[c] === WALK.mayAnswer && w.hitRatio[c] > 0) return false
    if (w.stationCount[c] > 1) return false
  }
  return true
}

/** Every request: the clients alike, reads and writes by the read ratio (once when they walk alike). */
function composeAll<D>(w: Walker, stations: Station[], a: Algebra<D>, ops: { n: number }): D | null {
  const parts: { weight: number; d: D }[] = []
  const blind = classBlind(w)
  for (const c of w.clients) {
    for (const read of blind ? [true] : [true, false]) {
      const weight = (blind ? 1 : read ? w.readRatio : 1 - w.readRatio) / w.clients.length
      if (weight <= 0) continue
      const d = compose(w, stations, a, read, c, 0, a.zero, ops)
      if (d === null) return null
      parts.push({ weight, d })
    }
  }
  return parts.length === 1 ? parts[0].d : a.mix(parts)
}

/**
 * A range that holds every path's latency but for a negligible tail: the longest path of each
 * station's reach (beyond it, its sojourn's tail is below e^(−TAIL), or near it for M/D/c).
 */
function reach(laws: (s: Station) => StationLaw | null): Algebra<number> {
  return {
    zero: 0,
    station(s, next) {
      const law = laws(s)
      if (law === null) return null
      const mean = s.serviceTimeMs
      // A gamma's tail falls off as e^(−x / (CV² × mean)), or faster.
      const service = TAIL * Math.max(1, s.serviceTimeCv * s.serviceTimeCv) * mean
      switch (law.kind) {
        case 'saturated':
          return next
        case 'constant':
          return next + mean
        case 'exponential':
          return next + TAIL * mean
        case 'gamma':
          return next + service
        case 'mmc':
          return next + TAIL * mean + (s.waitProbability > 0 ? TAIL * s.waitMs : 0)
        case 'mg1':
          return next + (s.serviceTimeCv === 0 ? mean : service) + (law.rho > 0 ? (TAIL * mean) / law.decay : 0)
        case 'mdc':
          return next + mean + (TAIL * mean) / law.wait.decay
      }
    },
    mix: (parts) => Math.max(...parts.map((p) => p.d)),
    fork: (branches, next) => Math.max(0, ...branches.map((b) => b.d)) + next
  }
}

function lattice(h: number, laws: (s: Station) => StationLaw | null): Algebra<Law> {
  // e^(−DAMPING k / SIZE), and the sojourns of the stations that need transforms by what they depend on (stations repeat).
  const damping = new Float64Array(SIZE)
  for (let k = 0; k < SIZE; k++) damping[k] = Math.exp((-DAMPING * k) / SIZE)
  const zero: Law = {
    cdf: new Float64Array(SIZE).fill(1),
    spectrum: { re: new Float64Array(SIZE).fill(1), im: new Float64Array(SIZE), damping },
    mass: 1,
    infinite: 0,
    atom: 1,
    zero: true
  }
  const sojourns = new Map<string, Law>()
  const sojourn = (s: Station, law: StationLaw): Law => {
    const steps = s.serviceTimeMs / h
    const cv = s.serviceTimeCv
    const key =
      law.kind === 'mg1'
        ? `mg1 ${steps} ${cv} ${law.rho}`
        : law.kind === 'mdc'
          ? `mdc ${steps} ${law.c} ${s.utilization}`
          : `gamma ${steps} ${cv}`
    let d = sojourns.get(key)
    if (d === undefined) {
      if (law.kind === 'mg1') d = { ...fromCdf(null), spectrum: mg1Spectrum(law.rho, cv, steps, damping) }
      else if (law.kind === 'mdc') d = fromCdf(mdcSojourn(law.wait, steps))
      else d = fromCdf(cumulated(serviceMasses(serviceExcess(cv, 1 / steps, SIZE + 1).first, steps)))
      sojourns.set(key, d)
    }
    return d
  }
  return {
    zero,
    station(s, next) {
      const law = laws(s)
      if (law === null) return null
      switch (law.kind) {
        case 'saturated': {
          // It serves 1/ρ of its arrivals, and those wait without bound; the rest are lost.
          const kept = next.mass / s.utilization
          return fromCdf(new Float64Array(SIZE), kept, kept)
        }
        case 'constant':
          return shifted(next, s.serviceTimeMs / h)
        case 'exponential':
          return exponential(next, s.serviceTimeMs / h)
        case 'mmc': {
          const served = exponential(next, s.serviceTimeMs / h)
          if (s.waitProbability <= 0) return served
          const waited = cdfOf(exponential(served, s.waitMs / h))
          const pw = s.waitProbability
          const first = cdfOf(served)
          const cdf = new Float64Array(SIZE)
          for (let k = 0; k < SIZE; k++) cdf[k] = (1 - pw) * first[k] + pw * waited[k]
          return fromCdf(cdf, next.mass, next.infinite)
        }
        default: {
          const own = sojourn(s, law)
          return next.zero ? own : multiplied(own, next, damping)
        }
      }
    },
    mix(parts) {
      if (parts.every((p) => p.d.zero)) return zero
      let mass = 0
      let infinite = 0
      let atom = 0
      for (const { weight, d } of parts) {
        mass += weight * d.mass
        infinite += weight * d.infinite
        atom += weight * d.atom
      }
      if (parts.every((p) => p.d.spectrum !== null)) {
        // Held as spectra: mixed as spectra (the transform is linear).
        const re = new Float64Array(SIZE)
        const im = new Float64Array(SIZE)
        for (const { weight, d } of parts) {
          const { re: xr, im: xi } = d.spectrum as Spectrum
          for (let m = 0; m < SIZE; m++) {
            re[m] += weight * xr[m]
            im[m] += weight * xi[m]
          }
        }
        return { cdf: null, spectrum: { re, im, damping }, mass, infinite, atom, zero: false }
      }
      const cdf = new Float64Array(SIZE)
      for (const { weight, d } of parts) {
        const p = cdfOf(d)
        for (let k = 0; k < SIZE; k++) cdf[k] += weight * p[k]
      }
      return fromCdf(cdf, mass, infinite, atom)
    },
    fork(branches, next) {
      // P(every branch kept, finite and done by t): the product of the branches' CDFs, a branch
      // not taken (1 − share) being done at once.
      const cdf = new Float64Array(SIZE).fill(1)
      let mass = 1
      let finite = 1
      let atom = 1
      for (const { share, d } of branches) {
        const p = cdfOf(d)
        for (let k = 0; k < SIZE; k++) cdf[k] *= share * p[k] + (1 - share)
        mass *= share * d.mass + (1 - share)
        finite *= share * (d.mass - d.infinite) + (1 - share)
        atom *= share * d.atom + (1 - share)
      }
      const slowest = fromCdf(cdf, mass, mass - finite, atom)
      if (next.zero) return slowest
      // What follows held as a spectrum: multiplied; otherwise convolved, zero-padded.
      return next.spectrum !== null ? multiplied(slowest, next, damping) : convolved(slowest, next)
    }
  }
}

/** The end-to-end figures the exact law gives: what the Monte-Carlo would otherwise estimate. */
export interface ExactLatency {
  /** The q-quantile of a kept request's latency (ms); infinite when its rank falls among the unbounded. */
  quantile(q: number): number
  /** The share of requests kept (1 − the error rate). */
  kept: number
  /** The share of kept requests whose latency is unbounded. */
  unboundedShare: number
  /** The mean latency of kept requests (ms; infinite when any is unbounded). */
  meanMs: number
  /** Lattice operations it took (the run's step budget counts them). */
  ops: number
}

/**
 * The exact end-to-end latency of the design's requests, or null where a station they may meet
 * has no exact law (a timeout's sampled traversals, variable service on several servers a queue
 * other than constant, a finite queue, bursty arrivals) or the walk is too large to compose: the
 * Monte-Carlo estimates those.
 */
export function exactLatency(w: Walker, stations: Station[], highest = 0.99): ExactLatency | null {
  const ops = { n: 0 }
  const laws = lawsOf(stations)
  let range = composeAll(w, stations, reach(laws), ops)
  if (range === null) return null
  range = Math.max(range, 1e-9)
  for (let widening = 0; widening <= WIDENINGS; widening++) {
    const h = range / (SIZE - 1)
    const law = composeAll(w, stations, lattice(h, laws), ops) as Law
    const finite = law.mass - law.infinite
    // The widest percentile asked for must lie within the range (or among the unbounded).
    const cdf = cdfOf(law)
    if (law.mass > 0 && highest * law.mass <= finite && cdf[SIZE - 1] < highest * law.mass) {
      range *= 4
      continue
    }
    let sum = 0
    for (let k = 1; k < SIZE; k++) sum += k * h * (cdf[k] - cdf[k - 1])
    return {
      quantile: (q) => quantileOf(law, q, h),
      kept: law.mass,
      unboundedShare: law.mass > 0 ? law.infinite / law.mass : 0,
      meanMs: law.infinite > 0 ? Number.POSITIVE_INFINITY : finite > 0 ? sum / finite : 0,
      ops: ops.n
    }
  }
  return null
}

/**
 * The q-quantile of the kept requests' latency. The lattice's CDF at kh is the true CDF at
 * kh + h/2 (to second order: the hat kernel is symmetric), so it is read off between those points.
 */
function quantileOf(law: Law, q: number, h: number): number {
  if (law.mass <= 0) return 0
  const target = q * law.mass
  if (target > (law.mass - law.infinite) * (1 + 1e-12)) return Number.POSITIVE_INFINITY
  // Requests that meet no station take exactly 0.
  if (target <= law.atom * (1 + 1e-12)) return 0
  const cdf = cdfOf(law)
  let k = 0
  while (k < SIZE - 1 && cdf[k] < target) k++
  if (k === 0) return Math.max(0, ((target - law.atom) / (cdf[0] - law.atom) - 0.5) * h)
  const below = cdf[k - 1]
  const fraction = cdf[k] > below ? (target - below) / (cdf[k] - below) : 1
  return Math.max(0, (k - 0.5 + fraction) * h)
}
