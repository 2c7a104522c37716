import { mdcWait, mdcWaitTable } from '../mdc.ts'
import { marsagliaTsang, standardExponential, standardGamma, uniform } from '../random.ts'
import type { Station } from './stations.ts'
import { BRANCH, BRANCH_END, FORK, MAX_HOPS } from './walker.ts'

// A request's latency along its path: a sojourn drawn at each station it visits.

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
  /** Per station: 1 for M/G/1 of CV other than 1, whose wait is drawn exactly (see drawLatency). */
  mg1: Uint8Array
  /** Scratch for parallel calls: per open FORK, the latency before it and its slowest branch so far. */
  forks: Float64Array
  /**
   * Per station of gamma service (CV neither 0 nor 1): its shape k and Marsaglia and Tsang's d and
   * c for max(k, k + 1 when k < 1), made once (standardGamma would make them every draw).
   */
  shape: Float64Array
  gammaD: Float64Array
  gammaC: Float64Array
  /**
   * Per station: M/D/c (constant service, c > 1 servers a queue, Poisson arrivals, no queue limit),
   * whose wait is drawn from Crommelin's law: MDC.pending until its table is made (on the first
   * draw: the exact mode never draws), then MDC.table, or MDC.none (drawn exponential) without one.
   */
  mdc: Uint8Array
  /** Per M/D/c station: its servers a queue and its offered load a queue (λD), then its table of waits in ms. */
  mdcServers: Float64Array
  mdcLoad: Float64Array
  mdcTable: (Float64Array | null)[]
  /** Per M/D/c station: ms of wait per unit of Exp(1) past its table (the service time over the tail's decay). */
  mdcSlope: Float64Array
}

/** An M/D/c station's state in Sojourns.mdc. */
export const MDC = { none: 0, pending: 1, table: 2 } as const

/** The M/D/c wait table: entries (more are finer; 512 holds interpolation well under sampling noise) and Exp(1) range. */
const MDC_TABLE_SIZE = 512
const MDC_TABLE_SPAN = 12

export function compileSojourns(stations: Station[], tables: Map<number, Float64Array>): Sojourns {
  const n = stations.length
  const out: Sojourns = {
    serviceMs: new Float64Array(n),
    waitMs: new Float64Array(n),
    waitProbability: new Float64Array(n),
    keep: new Float64Array(n).fill(1),
    extraMs: new Float64Array(n),
    cv: new Float64Array(n),
    table: stations.map((s) => tables.get(s.index) ?? null),
    mg1: new Uint8Array(n),
    forks: new Float64Array(2 * (MAX_HOPS + 2)),
    shape: new Float64Array(n),
    gammaD: new Float64Array(n),
    gammaC: new Float64Array(n),
    mdc: new Uint8Array(n),
    mdcServers: new Float64Array(n),
    mdcLoad: new Float64Array(n),
    mdcTable: stations.map(() => null),
    mdcSlope: new Float64Array(n)
  }
  for (const s of stations) {
    out.serviceMs[s.index] = s.serviceTimeMs
    out.cv[s.index] = s.serviceTimeCv
    if (s.serviceTimeCv !== 0 && s.serviceTimeCv !== 1) {
      // serviceDraw's gamma: shape 1/CV², scaled by mean × CV × CV.
      const shape = 1 / (s.serviceTimeCv * s.serviceTimeCv)
      const d = (shape < 1 ? shape + 1 : shape) - 1 / 3
      out.shape[s.index] = shape
      out.gammaD[s.index] = d
      out.gammaC[s.index] = 1 / Math.sqrt(9 * d)
    }
    if (s.saturated) {
      out.keep[s.index] = 1 / s.utilization
      out.extraMs[s.index] = s.waitMs
    } else {
      out.keep[s.index] = 1 - s.loss
      out.waitProbability[s.index] = s.waitProbability
      out.waitMs[s.index] = s.waitMs
      const oneServer = s.kind === 'queue' && s.servers === s.queues && s.queueLimit === null
      if (oneServer && s.serviceTimeCv !== 1 && s.arrivalCv === 1) out.mg1[s.index] = 1
      const c = s.servers / s.queues
      const mdc = s.kind === 'queue' && s.serviceTimeCv === 0 && s.arrivalCv === 1 && s.queueLimit === null
      if (mdc && c > 1 && Number.isInteger(c) && s.utilization > 0) {
        out.mdc[s.index] = MDC.pending
        out.mdcServers[s.index] = c
        out.mdcLoad[s.index] = s.utilization * c
      }
    }
  }
  return out
}

/**
 * One end-to-end latency over the given stations: the sum of a sojourn at each (its service time
 * drawn with the station's CV, plus, with the station's waiting probability, an exponential wait
 * of the right mean); -1 when a saturated station or a full queue loses it.
 */
export function drawLatency(stations: Int32Array, length: number, f: Sojourns, word: () => number): number {
  let total = 0
  let open = 0
  // Locals, not property loads: the draws below are calls the compiler cannot see through.
  const { forks, keep, table: tables, cv, serviceMs, extraMs, mg1, waitProbability, waitMs } = f
  for (let v = 0; v < length; v++) {
    const s = stations[v]
    if (s < 0) {
      // Parallel calls: each branch timed from the fork; the slowest counts.
      if (s === FORK) {
        forks[open++] = total
        forks[open++] = 0
        total = 0
      } else if (s === BRANCH) total = 0
      else if (s === BRANCH_END) forks[open - 1] = Math.max(forks[open - 1], total)
      else {
        open -= 2
        total = forks[open] + forks[open + 1]
      }
      continue
    }
    if (keep[s] < 1 && uniform(word) >= keep[s]) return -1
    const table = tables[s]
    if (table !== null) {
      if (table.length > 0) total += table[Math.floor(uniform(word) * table.length)]
      continue
    }
    const k = cv[s]
    let service: number
    if (k === 1) service = standardExponential(word) * serviceMs[s]
    else if (k === 0) service = serviceMs[s]
    else {
      // serviceDraw's gamma, its constants made once: the same draws.
      let g = marsagliaTsang(word, f.gammaD[s], f.gammaC[s])
      if (f.shape[s] < 1) g *= Math.exp(-standardExponential(word) / f.shape[s])
      service = g * serviceMs[s] * k * k
    }
    total += service + extraMs[s]
    if (mg1[s] === 1) total += mg1Wait(word, waitProbability[s], serviceMs[s], k)
    else if (f.mdc[s] !== MDC.none && (f.mdc[s] === MDC.table || tableMdc(f, s))) total += mdcDraw(f, s, word)
    else if (waitProbability[s] > 0 && uniform(word) < waitProbability[s])
      total += standardExponential(word) * waitMs[s]
  }
  return total
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

/** Makes an M/D/c station's wait table (its chance of waiting becomes the exact one); false where it has no exact law. */
function tableMdc(f: Sojourns, s: number): boolean {
  const wait = mdcWait(f.mdcLoad[s], f.mdcServers[s])
  if (wait === null) {
    f.mdc[s] = MDC.none
    return false
  }
  const table = mdcWaitTable(wait, MDC_TABLE_SIZE, MDC_TABLE_SPAN)
  for (let i = 0; i < table.length; i++) table[i] *= f.serviceMs[s]
  f.mdcTable[s] = table
  f.mdcSlope[s] = f.serviceMs[s] / wait.decay
  f.waitProbability[s] = 1 - wait.noWait
  f.mdc[s] = MDC.table
  return true
}

/**
 * An M/D/c wait, exactly in law (to the table's interpolation): none with P(no wait), otherwise
 * its conditional quantile at an Exp(1) level, read off the table or past it along the tail's decay.
 */
function mdcDraw(f: Sojourns, s: number, word: () => number): number {
  if (!(uniform(word) < f.waitProbability[s])) return 0
  const table = f.mdcTable[s] as Float64Array
  const x = standardExponential(word) * (MDC_TABLE_SIZE / MDC_TABLE_SPAN)
  if (x >= MDC_TABLE_SIZE)
    return table[MDC_TABLE_SIZE] + (x - MDC_TABLE_SIZE) * (MDC_TABLE_SPAN / MDC_TABLE_SIZE) * f.mdcSlope[s]
  const i = Math.floor(x)
  return table[i] + (x - i) * (table[i + 1] - table[i])
}
