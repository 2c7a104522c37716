import { mdcWait } from './mdc.ts'
import { mg1SojournQuantile } from './mg1.ts'
import { createWords, standardExponential, standardGamma, uniform } from './random.ts'

// Closed forms for M/M/c stations. Rates are per second, times in seconds unless named *Ms.

/** Erlang B: the probability that an arrival finds all c servers busy in M/M/c/c, by its stable recursion. */
export function erlangB(c: number, a: number): number {
  if (a <= 0) return 0
  let b = 1
  for (let k = 1; k <= c; k++) {
    b = (a * b) / (k + a * b)
    // Past the load it only shrinks: stop once it is negligible.
    if (k > a && b < 1e-16) return 0
  }
  return b
}

/** Erlang C: the probability that an arrival waits, for c servers and offered load a = λ/μ < c. */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0
  if (a >= c) return 1
  const b = erlangB(c, a)
  const rho = a / c
  return b / (1 - rho + rho * b)
}

/**
 * M/M/c/K with K = c + limit, exactly: the probability an arrival is lost (all K places taken),
 * the probability an admitted arrival waits, and the mean wait of an admitted arrival in seconds.
 * The states above c are p_c ρ^j, so the sums are geometric; below c, Erlang B gives p_c.
 */
export function finiteQueue(
  c: number,
  a: number,
  mu: number,
  limit: number
): { loss: number; waitProbability: number; meanWait: number } {
  if (a <= 0) return { loss: 0, waitProbability: 0, meanWait: 0 }
  const rho = a / c
  const b = erlangB(c, a)
  // Σ_{j=1..L} ρ^j and Σ_{j=1..L} j ρ^j.
  let geometric: number
  let weighted: number
  if (Math.abs(rho - 1) < 1e-12) {
    geometric = limit
    weighted = (limit * (limit + 1)) / 2
  } else {
    const rl = rho ** limit
    geometric = (rho * (1 - rl)) / (1 - rho)
    weighted = (rho * (1 - (limit + 1) * rl + limit * rl * rho)) / (1 - rho) ** 2
  }
  const pc = b / (1 + b * geometric)
  const loss = pc * rho ** limit
  const admitted = 1 - loss
  // Arrivals that find c or more present but fewer than K: p_c (1 + ρ + … + ρ^(L−1)).
  const waiting = limit === 0 ? 0 : pc * (1 + geometric - rho ** limit)
  const lambda = a * mu
  return {
    loss,
    waitProbability: admitted > 0 ? waiting / admitted : 1,
    meanWait: admitted > 0 ? (pc * weighted) / (lambda * admitted) : 0
  }
}

export interface StationFigures {
  utilization: number
  saturated: boolean
  waitProbability: number
  meanSojournMs: number
  p95SojournMs: number
}

/**
 * Tail of the M/M/c sojourn time: service S ~ Exp(μ), plus, with probability Pw,
 * a wait Wq ~ Exp(cμ − λ). P(W > t) for t in seconds.
 */
export function sojournTail(t: number, mu: number, theta: number, pw: number): number {
  const service = Math.exp(-mu * t)
  const both =
    Math.abs(theta - mu) < 1e-12 * mu
      ? (1 + mu * t) * Math.exp(-mu * t)
      : (theta * Math.exp(-mu * t) - mu * Math.exp(-theta * t)) / (theta - mu)
  return (1 - pw) * service + pw * both
}

/** The q-quantile of the sojourn time, by bisection on the tail. */
export function sojournQuantile(q: number, mu: number, theta: number, pw: number): number {
  const target = 1 - q
  let lo = 0
  let hi = 1 / mu + 1 / theta
  while (sojournTail(hi, mu, theta, pw) > target) hi *= 2
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (sojournTail(mid, mu, theta, pw) > target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/**
 * A saturated station has no steady state: it serves its capacity, the rest of its arrivals queue
 * without end (counted as lost: they never complete), and the wait of those it serves grows
 * without bound. Its latency figures are infinite; results print them as unbounded (null).
 */
export interface StationShape {
  /** Separate queues (1 pooled, `instances` with random balancing), each with `servers` servers and λ/queues arrivals. */
  queues: number
  servers: number
  serviceTimeMs: number
  /** Coefficient of variation of the service time (1: exponential). */
  cv: number
  /** Waiting places per queue; null: unbounded. */
  limit: number | null
  /** Coefficient of variation of the time between arrivals (1, the default: Poisson). */
  arrivalCv?: number
}

export interface QueueFigures extends StationFigures {
  /** Share of arrivals lost to a full queue. */
  loss: number
  /** Mean wait of an arrival that waits (ms): what the Monte-Carlo draws as an exponential. */
  waitMs: number
}

/**
 * A station's figures. Exponential service is exact M/M/c (Erlang C) or M/M/c/K; other service
 * variability scales the wait by (1 + CV²)/2 — Pollaczek–Khinchine, exact for one server, and the
 * Allen–Cunneen approximation for several; bursty (or smooth) arrivals by (c_a² + CV²)/2, the
 * Allen–Cunneen approximation throughout. Random balancing is `queues` independent queues.
 */
export function queueFigures(
  lambda: number,
  shape: StationShape,
  percentile = true,
  draws?: QuantileDraws
): QueueFigures {
  const { queues, servers: c, serviceTimeMs, cv, limit } = shape
  const perQueue = lambda / queues
  const mu = 1000 / serviceTimeMs
  const utilization = lambda / (queues * c * mu)
  const ca2 = (shape.arrivalCv ?? 1) ** 2
  const variability = (ca2 + cv * cv) / 2
  const exponential = cv === 1
  const poisson = ca2 === 1
  if (limit === null && utilization >= 1) {
    return {
      utilization,
      saturated: true,
      waitProbability: 1,
      meanSojournMs: Number.POSITIVE_INFINITY,
      p95SojournMs: Number.POSITIVE_INFINITY,
      loss: 1 - 1 / utilization,
      waitMs: Number.POSITIVE_INFINITY
    }
  }
  const a = perQueue / mu
  let loss = 0
  let pw: number
  let meanWait: number
  if (limit === null) {
    pw = erlangC(c, a)
    meanWait = pw / (c * mu - perQueue)
  } else {
    ;({ loss, waitProbability: pw, meanWait } = finiteQueue(c, a, mu, limit))
  }
  meanWait *= variability
  // Several servers with constant service: M/D/c's wait is exact (Crommelin), its mean with it,
  // unless its transform is past its budget (within about 0.1 % of saturation).
  const exactWait = !exponential && c > 1 && cv === 0 && limit === null && poisson ? mdcWait(perQueue / mu, c) : null
  if (exactWait) meanWait = exactWait.meanWait / mu
  // Unbounded, an arrival that waits waits (1 + CV²)/2 × 1/(cμ − λ) on average (Allen–Cunneen), or
  // M/D/c's exact mean over the chance of waiting.
  const waitMs =
    pw <= 0 ? 0 : limit === null && !exactWait ? (variability * 1000) / (c * mu - perQueue) : (meanWait / pw) * 1000
  // The conditional wait's rate: exactly cμ − λ for M/M/c.
  const theta = limit === null && exponential && poisson ? c * mu - perQueue : 1000 / Math.max(waitMs, 1e-12)
  // The p95 is solved for (exponential) or sampled (no closed form): skipped when only rates are wanted.
  // One server, unbounded: M/G/1, whose sojourn's law is exact (its transform inverted); several
  // with constant service: M/D/c, exact too.
  const p95 = !percentile
    ? Number.NaN
    : exponential
      ? sojournQuantile(0.95, mu, theta, pw)
      : c === 1 && limit === null && poisson
        ? mg1SojournQuantile(0.95, perQueue / mu, cv) / mu
        : exactWait
          ? (1 + exactWait.quantile(0.95)) / mu
          : sojournQuantileSampled(0.95, serviceTimeMs / 1000, cv, pw, waitMs / 1000, draws)
  return {
    utilization: limit === null ? utilization : (perQueue * (1 - loss)) / (c * mu),
    saturated: false,
    waitProbability: pw,
    meanSojournMs: meanWait * 1000 + serviceTimeMs,
    p95SojournMs: p95 * 1000,
    loss,
    waitMs
  }
}

/**
 * A pure delay (M/G/∞, or a link's network time with CV 0): no queue, never busy, never losing;
 * the sojourn is the service time itself.
 */
export function delayFigures(
  serviceTimeMs: number,
  cv: number,
  percentile = true,
  draws?: QuantileDraws
): QueueFigures {
  const p95 =
    cv === 1
      ? serviceTimeMs * Math.log(20)
      : cv === 0
        ? serviceTimeMs
        : percentile
          ? sojournQuantileSampled(0.95, serviceTimeMs, cv, 0, 0, draws)
          : Number.NaN
  return {
    utilization: 0,
    saturated: false,
    waitProbability: 0,
    meanSojournMs: serviceTimeMs,
    p95SojournMs: p95,
    loss: 0,
    waitMs: 0
  }
}

/** The exact M/M/c station (one pooled queue, exponential service, no limit). */
export function stationFigures(lambda: number, c: number, serviceTimeMs: number): StationFigures {
  const {
    loss: _loss,
    waitMs: _wait,
    ...figures
  } = queueFigures(lambda, {
    queues: 1,
    servers: c,
    serviceTimeMs,
    cv: 1,
    limit: null
  })
  return figures
}

/** Draws per sampled quantile, and the per-CV sets of them a QuantileDraws keeps (most designs use a few CVs). */
const QUANTILE_DRAWS = 4000
const DRAW_SETS = 16
/** Pilot service draws per stratum, for a CV's strata. */
const PILOT = 10

/** Unit-mean service draws of one CV (sorted too), and the uniforms and exponentials of the waits. */
interface DrawSet {
  service: Float64Array
  sorted: Float64Array
  uniforms: Float64Array
  waits: Float64Array
}

/** The draw sets made so far and a buffer to combine them in: owned by whoever runs many stations (a run, an engine thread). */
export interface QuantileDraws {
  sets: Map<number, DrawSet>
  scratch: Float64Array
}

export function createQuantileDraws(): QuantileDraws {
  return { sets: new Map(), scratch: new Float64Array(QUANTILE_DRAWS) }
}

/** The draws for one CV, from a fixed seed: the same numbers every time, so a quantile is a function. */
function drawSet(draws: QuantileDraws, cv: number): DrawSet {
  const drawSets = draws.sets
  let set = drawSets.get(cv)
  if (set) return set
  const word = createWords(0x5eed)
  // Every draw stands for one 1/N-stratum of its distribution, the strata in a shuffled order:
  // the service at the stratum's middle (from a pilot sample ten times larger: a gamma has no
  // closed-form inverse), the wait's coin and its exponential length exactly. Exactly the share pw
  // of the draws then wait, and the tails are as full as N allows: independent draws put a p95
  // near the wait's edge or in a heavy tail several per cent off.
  const pilot = new Float64Array(QUANTILE_DRAWS * PILOT)
  for (let i = 0; i < pilot.length; i++) pilot[i] = serviceDraw(word, 1, cv)
  pilot.sort()
  const middle = (k: number) => (k + 0.5) / QUANTILE_DRAWS
  const service = Float64Array.from(shuffled(word), (k) => pilot[Math.floor(middle(k) * pilot.length)])
  const uniforms = Float64Array.from(shuffled(word), middle)
  const waits = Float64Array.from(shuffled(word), (k) => -Math.log(1 - middle(k)))
  set = { service, sorted: Float64Array.from(service).sort(), uniforms, waits }
  if (drawSets.size >= DRAW_SETS) drawSets.delete(drawSets.keys().next().value as number)
  drawSets.set(cv, set)
  return set
}

/** 0 … QUANTILE_DRAWS − 1 in a random order (Fisher–Yates). */
function shuffled(word: () => number): Int32Array {
  const order = Int32Array.from({ length: QUANTILE_DRAWS }, (_, i) => i)
  for (let i = QUANTILE_DRAWS - 1; i > 0; i--) {
    const j = Math.floor(uniform(word) * (i + 1))
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  return order
}

/**
 * The q-quantile of a sojourn with gamma service (mean s, given CV) plus, with probability pw,
 * an exponential wait of mean w: from a fixed-seed sample, since the convolution has no closed
 * form. The Monte-Carlo draws end-to-end latencies from the same distribution. The unit draws of
 * a CV are made once (stratified: see drawSet) and scaled, so a station costs a selection, not
 * 4 000 gamma draws and a sort.
 */
export function sojournQuantileSampled(
  q: number,
  s: number,
  cv: number,
  pw: number,
  w: number,
  draws: QuantileDraws = createQuantileDraws()
): number {
  const { service, sorted, uniforms, waits } = drawSet(draws, cv)
  const { scratch } = draws
  const rank = Math.min(QUANTILE_DRAWS - 1, Math.ceil(q * QUANTILE_DRAWS) - 1)
  if (pw <= 0) return sorted[rank] * s
  for (let i = 0; i < QUANTILE_DRAWS; i++) scratch[i] = service[i] * s + (uniforms[i] < pw ? waits[i] * w : 0)
  select(scratch, rank, 0, QUANTILE_DRAWS - 1)
  return scratch[rank]
}

/** A service time of mean `mean` and the given CV: exponential (1), constant (0) or gamma. */
export function serviceDraw(word: () => number, mean: number, cv: number): number {
  if (cv === 1) return standardExponential(word) * mean
  if (cv === 0) return mean
  const shape = 1 / (cv * cv)
  return standardGamma(word, shape) * mean * cv * cv
}

/**
 * Moves the k-th smallest value of `a[lo..hi]` to index k, smaller ones before it and larger
 * ones after (Hoare's selection, median-of-three pivot): O(n), where a full sort is O(n log n)
 * and took a quarter of a simulation.
 */
export function select(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1
    const x = a[lo]
    const y = a[mid]
    const z = a[hi]
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i] = a[j]
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return
  }
}
