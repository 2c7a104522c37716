import { mdcWait, mdcWaitTable } from '../mdc.ts'
import { marsagliaTsang, standardExponential, standardGamma, uniform } from '../random.ts'
import type { Station } from './stations.ts'
import { BRANCH, BRANCH_END, FORK, MAX_HOPS } from './walker.ts'

// A request's latency along its path: a sojourn drawn at each station it visits.

/** How a station's service time is drawn (Sojourns.service). */
export const SERVICE = {
  exponential: 0,
  constant: 1,
  /** Marsaglia and Tsang's gamma, shape at least 1. */
  gamma: 2,
  /** Shape k below 1: a gamma of shape k + 1 times U^(1/k), the power by multiplying when 1/k = CV² is a small integer. */
  gammaPower: 3,
  /** The same, U^(1/k) as e^(−E/k) otherwise. */
  gammaBoost: 4
} as const

/** How a station's wait is drawn (Sojourns.wait). */
export const WAIT = {
  none: 0,
  /** With the station's waiting probability, an exponential of its conditional mean. */
  exponential: 1,
  /** M/G/1 (one server a queue, CV other than 1, Poisson arrivals): Pollaczek–Khinchine's geometric sum. */
  mg1: 2,
  /** M/D/c (constant service, c > 1 servers a queue, Poisson arrivals, no queue limit): Crommelin's law. */
  mdc: 3
} as const

/**
 * How a station's whole sojourn is drawn (Sojourns.draw): most stations keep every request, wait
 * for none and have no table, and their sojourn is their service alone, drawn with one test.
 */
const DRAW = {
  /** Everything drawLatency tests, in turn. */
  full: 0,
  /** An exponential service and nothing else. */
  exponential: 1,
  /** A constant service and nothing else. */
  constant: 2
} as const

/** The M/D/c wait table: entries (512 hold the interpolation well under sampling noise) and the Exp(1) range. */
const MDC_TABLE_SIZE = 512
const MDC_TABLE_SPAN = 12
/** U^(1/k) by multiplying up to this power; past it, e^(−E/k). */
const MAX_POWER = 16

/** A station's figures as flat arrays, for drawing sojourns without touching objects. */
export interface Sojourns {
  serviceMs: Float64Array
  waitMs: Float64Array
  waitProbability: Float64Array
  /** The share of requests a station keeps: saturated ones 1/ρ, finite queues 1 − their loss, others all. */
  keep: Float64Array
  extraMs: Float64Array
  /** Service-time CV per station (1: exponential). */
  cv: Float64Array
  /** Per station: the sampled traversals of a link with a timeout (drawn instead of a sojourn), or null. */
  table: (Float64Array | null)[]
  /** Per station: how its service is drawn (SERVICE) and how its wait is (WAIT). */
  service: Uint8Array
  wait: Uint8Array
  /** Per station: its sojourn's shortcut (DRAW), from the entries above. */
  draw: Uint8Array
  /** Scratch for parallel calls: per open FORK, the latency before it and its slowest branch so far. */
  forks: Float64Array
  /** The latency drawLatency drew last: a typed array's, as a double returned would be boxed on every draw. */
  drawn: Float64Array
  /**
   * Per station of gamma service (CV neither 0 nor 1): its shape k, Marsaglia and Tsang's d and c
   * for max(k, k + 1 when k < 1), made once (standardGamma would make them every draw), and the
   * gamma's scale, the mean × CV². The d and c are boxed numbers (null elsewhere), not a
   * Float64Array's: marsagliaTsang takes them as they are, where a double would be boxed anew on
   * every call the compiler leaves uninlined.
   */
  shape: Float64Array
  gammaD: (number | null)[]
  gammaC: (number | null)[]
  gammaScale: Float64Array
  /** Per M/D/c station its wait's law (see MdcDraw), null for the others. */
  mdc: (MdcDraw | null)[]
}

/**
 * An M/D/c station's servers a queue and offered load a queue (λD); its table of waits in ms
 * (mdcWaitTable's), made on its first draw (the exact mode never draws), with the exact chance of
 * waiting and the ms of wait per unit of Exp(1) past the table (service time over the decay).
 */
interface MdcDraw {
  servers: number
  load: number
  table: Float64Array | null
  waitProbability: number
  slope: number
}

export function compileSojourns(stations: Station[], tables: Map<number, Float64Array>): Sojourns {
  const n = stations.length
  const out: Sojourns = {
    serviceMs: new Float64Array(n),
    waitMs: new Float64Array(n),
    waitProbability: new Float64Array(n),
    keep: new Float64Array(n),
    extraMs: new Float64Array(n),
    cv: new Float64Array(n),
    table: new Array(n).fill(null),
    service: new Uint8Array(n),
    wait: new Uint8Array(n),
    draw: new Uint8Array(n),
    forks: new Float64Array(2 * (MAX_HOPS + 2)),
    drawn: new Float64Array(1),
    shape: new Float64Array(n),
    gammaD: new Array(n).fill(null),
    gammaC: new Array(n).fill(null),
    gammaScale: new Float64Array(n),
    mdc: new Array(n).fill(null)
  }
  for (const s of stations) setSojourn(out, s, tables.get(s.index) ?? null)
  return out
}

/**
 * Writes station `s`'s entries (every one of them: a station figured anew replaces what was there),
 * with `table` its sampled traversals when it is a timeout's.
 */
export function setSojourn(out: Sojourns, s: Station, table: Float64Array | null): void {
  const i = s.index
  const cv = s.serviceTimeCv
  out.table[i] = table
  out.serviceMs[i] = s.serviceTimeMs
  out.cv[i] = cv
  out.service[i] = SERVICE.exponential
  out.shape[i] = 0
  out.gammaD[i] = null
  out.gammaC[i] = null
  out.gammaScale[i] = 0
  out.waitMs[i] = 0
  out.waitProbability[i] = 0
  out.extraMs[i] = 0
  out.wait[i] = WAIT.none
  out.mdc[i] = null
  if (cv === 0) out.service[i] = SERVICE.constant
  else if (cv !== 1) {
    // serviceDraw's gamma: shape 1/CV², scaled by mean × CV × CV.
    const shape = 1 / (cv * cv)
    const d = (shape < 1 ? shape + 1 : shape) - 1 / 3
    out.shape[i] = shape
    out.gammaD[i] = d
    out.gammaC[i] = 1 / Math.sqrt(9 * d)
    out.gammaScale[i] = s.serviceTimeMs * cv * cv
    const power = cv * cv
    out.service[i] =
      shape >= 1
        ? SERVICE.gamma
        : Number.isInteger(power) && power <= MAX_POWER
          ? SERVICE.gammaPower
          : SERVICE.gammaBoost
  }
  if (s.saturated) {
    out.keep[i] = 1 / s.utilization
    out.extraMs[i] = s.waitMs
  } else setWait(out, s)
  // Skipping a keep of 1 (no draw) and an extra of 0 (adding +0 to a sum that is never −0) draws the same.
  const plain = !(out.keep[i] < 1) && table === null && out.extraMs[i] === 0 && out.wait[i] === WAIT.none
  const service = out.service[i]
  out.draw[i] =
    plain && service === SERVICE.exponential
      ? DRAW.exponential
      : plain && service === SERVICE.constant
        ? DRAW.constant
        : DRAW.full
}

/** An unsaturated station's share kept and its wait's law. */
function setWait(out: Sojourns, s: Station): void {
  const i = s.index
  const cv = s.serviceTimeCv
  out.keep[i] = 1 - s.loss
  out.waitProbability[i] = s.waitProbability
  out.waitMs[i] = s.waitMs
  if (s.waitProbability > 0) out.wait[i] = WAIT.exponential
  const oneServer = s.kind === 'queue' && s.servers === s.queues && s.queueLimit === null
  if (oneServer && cv !== 1 && s.arrivalCv === 1) out.wait[i] = WAIT.mg1
  const c = s.servers / s.queues
  const mdc = s.kind === 'queue' && cv === 0 && s.arrivalCv === 1 && s.queueLimit === null
  if (mdc && c > 1 && Number.isInteger(c) && s.utilization > 0) {
    out.wait[i] = WAIT.mdc
    out.mdc[i] = { servers: c, load: s.utilization * c, table: null, waitProbability: 0, slope: 0 }
  }
}

/**
 * One end-to-end latency over the given stations, into `f.drawn[0]`: the sum of a sojourn at each
 * (its service time drawn with the station's CV, plus a wait: M/G/1's and M/D/c's exactly in law,
 * others with the station's waiting probability as an exponential of the right mean). False when a
 * saturated station or a full queue loses the request (or the sum is negative: never, in a valid design).
 */
export function drawLatency(stations: Int32Array, length: number, f: Sojourns, word: () => number): boolean {
  let total = 0
  let open = 0
  // Locals, not property loads: the draws below are calls the compiler cannot see through.
  const { forks, keep, table: tables, service, wait, serviceMs, extraMs, draw } = f
  for (let v = 0; v < length; v++) {
    const s = stations[v]
    if (s < 0) {
      // Parallel calls: each branch timed from the fork; the slowest counts.
      if (s === FORK) {
        forks[open++] = total
        forks[open++] = 0
        total = 0
      } else if (s === BRANCH) total = 0
      else if (s === BRANCH_END) {
        if (total > forks[open - 1]) forks[open - 1] = total
      } else {
        open -= 2
        total = forks[open] + forks[open + 1]
      }
      continue
    }
    const quick = draw[s]
    if (quick === DRAW.exponential) {
      total += standardExponential(word) * serviceMs[s]
      continue
    }
    if (quick === DRAW.constant) {
      total += serviceMs[s]
      continue
    }
    const kept = keep[s]
    if (kept < 1 && uniform(word) >= kept) return false
    const table = tables[s]
    if (table !== null) {
      if (table.length > 0) total += table[Math.floor(uniform(word) * table.length)]
      continue
    }
    const how = service[s]
    if (how === SERVICE.exponential) total += standardExponential(word) * serviceMs[s]
    else if (how === SERVICE.constant) total += serviceMs[s]
    else total += gammaService(f, s, how, word)
    total += extraMs[s]
    const waits = wait[s]
    if (waits === WAIT.exponential) {
      if (uniform(word) < f.waitProbability[s]) total += standardExponential(word) * f.waitMs[s]
    } else if (waits === WAIT.mg1) total += mg1Wait(word, f.waitProbability[s], serviceMs[s], f.cv[s])
    else if (waits === WAIT.mdc) total += mdcDraw(f, s, word)
  }
  f.drawn[0] = total
  return !(total < 0)
}

/** serviceDraw's gamma, its constants made once: the same law. */
function gammaService(f: Sojourns, s: number, how: number, word: () => number): number {
  let g = marsagliaTsang(word, f.gammaD[s] as number, f.gammaC[s] as number)
  if (how === SERVICE.gammaPower) {
    // U^(1/k) for 1/k = CV² a small integer: by multiplying, spared the exponential (a call out of the JIT).
    const u = (word() + 0.5) / 4294967296
    let p = u
    for (let i = f.cv[s] * f.cv[s]; i > 1.5; i--) p *= u
    g *= p
  } else if (how === SERVICE.gammaBoost) g *= Math.exp(-standardExponential(word) / f.shape[s])
  return g * f.gammaScale[s]
}

/**
 * An M/G/1 wait, exactly in law (Pollaczek–Khinchine as a geometric sum): N residual service times,
 * P(N ≥ n) = ρ^n, each U × a length-biased service (a gamma of shape k + 1 for shape k; the
 * constant itself when constant).
 */
function mg1Wait(word: () => number, rho: number, mean: number, cv: number): number {
  let wait = 0
  const shape = cv === 0 ? 0 : 1 / (cv * cv)
  while (uniform(word) < rho) {
    const biased = cv === 0 ? mean : standardGamma(word, shape + 1) * mean * cv * cv
    wait += uniform(word) * biased
  }
  return wait
}

/**
 * An M/D/c wait, exactly in law (to the table's interpolation): none with P(no wait), otherwise
 * its conditional quantile at an Exp(1) level, read off the table or past it along the tail's
 * decay. The table is made on the station's first draw; without one (no exact law: within about
 * 0.1 % of saturation), the station's waits are drawn exponential from then on.
 */
function mdcDraw(f: Sojourns, s: number, word: () => number): number {
  const mdc = f.mdc[s] as MdcDraw
  let table = mdc.table
  if (table === null) {
    const law = mdcWait(mdc.load, mdc.servers)
    if (law === null) {
      f.wait[s] = f.waitProbability[s] > 0 ? WAIT.exponential : WAIT.none
      return uniform(word) < f.waitProbability[s] ? standardExponential(word) * f.waitMs[s] : 0
    }
    table = mdcWaitTable(law, MDC_TABLE_SIZE, MDC_TABLE_SPAN)
    for (let i = 0; i < table.length; i++) table[i] *= f.serviceMs[s]
    mdc.table = table
    mdc.slope = f.serviceMs[s] / law.decay
    mdc.waitProbability = 1 - law.noWait
  }
  if (!(uniform(word) < mdc.waitProbability)) return 0
  const x = standardExponential(word) * (MDC_TABLE_SIZE / MDC_TABLE_SPAN)
  if (x >= MDC_TABLE_SIZE)
    return table[MDC_TABLE_SIZE] + (x - MDC_TABLE_SIZE) * (MDC_TABLE_SPAN / MDC_TABLE_SIZE) * mdc.slope
  const i = Math.floor(x)
  return table[i] + (x - i) * (table[i + 1] - table[i])
}
