// M/D/c waiting times, exactly: constant service D, c servers, Poisson arrivals, first come first
// served. Times are in units of D; a = λD is the offered load (a < c).
//
// With constant service, the number in the system N obeys N(t + D) = (N(t) − c)⁺ + A(t, t + D]:
// whoever is in service at t has left by t + D, whoever waits is still there. So the number
// waiting, M = (N − c)⁺, is the Lindley walk M′ = (M + A − c)⁺ with A Poisson of mean a, whose
// generating function follows from the c roots of z^c = e^(a(z − 1)) in the unit disc (Crommelin,
// 1932):
//
//   E[z^M] = (c − a)(z − 1) Π_{k=1}^{c−1} (z − z_k)/(1 − z_k) / (z^c − e^(a(z − 1))).
//
// Its coefficients come from a discrete Fourier transform on the unit circle. A request arriving at
// 0 waits at most t = (j − 1) + u (0 ≤ u < 1) exactly when fewer than jc of the requests ahead of it
// were there at u − 1: those waiting then plus those that arrived in (u − 1, 0) (Franx, 2001), so
//
//   P(W ≤ t) = P(M + Poisson(a(1 − u)) ≤ jc − 1).

import { fft } from './fft.ts'

/** Past this many (servers × transform points) the exact figure costs more than a run may spend: none is given. */
const MAX_WORK = 1 << 18

/** The c − 1 roots of z^c = e^(a(z − 1)) in the unit disc other than 1, as [re, im] pairs; null if one does not settle. */
function roots(a: number, c: number): Float64Array | null {
  const rho = a / c
  const out = new Float64Array(2 * (c - 1))
  for (let k = 1; k < c; k++) {
    const wr = Math.cos((2 * Math.PI * k) / c)
    const wi = Math.sin((2 * Math.PI * k) / c)
    // z = ω e^(ρ(z − 1)) is a contraction in the disc (rate ρ|z|): iterate it close, then Newton.
    let zr = 0
    let zi = 0
    let settled = false
    for (let it = 0; it < 400; it++) {
      const m = Math.exp(rho * (zr - 1))
      const er = m * Math.cos(rho * zi)
      const ei = m * Math.sin(rho * zi)
      const fr = wr * er - wi * ei
      const fi = wr * ei + wi * er
      const gr = zr - fr
      const gi = zi - fi
      if (it < 60) {
        zr = fr
        zi = fi
        continue
      }
      const dr = 1 - rho * fr
      const di = -rho * fi
      const den = dr * dr + di * di
      const sr = (gr * dr + gi * di) / den
      const si = (gi * dr - gr * di) / den
      zr -= sr
      zi -= si
      if (Math.hypot(sr, si) < 1e-15) {
        settled = true
        break
      }
    }
    if (!settled || Math.hypot(zr, zi) >= 1 - 1e-12) return null
    out[2 * (k - 1)] = zr
    out[2 * (k - 1) + 1] = zi
  }
  return out
}

/** The real root above 1 of c ln z = a(z − 1): the number waiting falls off as its powers. */
function outerRoot(a: number, c: number): number {
  const h = (z: number) => c * Math.log(z) - a * (z - 1)
  let hi = 1 + (c - a) / c
  while (h(hi) > 0) hi = 1 + 2 * (hi - 1)
  let lo = 1 + (hi - 1) / 2 ** 40
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2
    if (h(mid) > 0) lo = mid
    else hi = mid
  }
  return lo
}

/** An M/D/c station's exact waiting time: P(no wait), and its CDF and quantiles (in service times). */
export interface MdcWait {
  /** P(W = 0): (c − a) / Π (1 − z_k). */
  noWait: number
  /** E[W] in service times: the mean number waiting (M's law at any time) over a = λD, by Little's law. */
  meanWait: number
  /** The wait's tail falls off as e^(−decay × t), t in service times: c ln z₀, z₀ the root above 1. */
  decay: number
  /** P(W ≤ t), t in service times. */
  cdf(t: number): number
  /** The q-quantile of the wait (0 when at least q do not wait). */
  quantile(q: number): number
}

/**
 * The exact M/D/c wait at offered load a < c, or null where it is not computed: a load too close
 * to c (or servers too many) for the transform's budget, or roots that do not settle.
 */
export function mdcWait(a: number, c: number): MdcWait | null {
  if (!(a > 0 && a < c) || !Number.isInteger(c) || c < 1) return null
  const z = roots(a, c)
  if (!z) return null
  // Π (1 − z_k): real (the roots come in conjugate pairs) and positive.
  let pr = 1
  let pi = 0
  for (let k = 0; k < c - 1; k++) {
    const r = 1 - z[2 * k]
    const i = -z[2 * k + 1]
    const t = pr * r - pi * i
    pi = pr * i + pi * r
    pr = t
  }
  const noWait = (c - a) / pr
  if (!(noWait > 0 && noWait <= 1 + 1e-9)) return null
  // Enough points that the coefficients past them (which alias onto the first) are below 1e-15.
  const decay = Math.log(outerRoot(a, c))
  let n = 64
  while (n * decay < 36) n *= 2
  if (n * c > MAX_WORK) return null
  const re = new Float64Array(n)
  const im = new Float64Array(n)
  re[0] = 1
  for (let j = 1; j < n; j++) {
    const theta = (2 * Math.PI * j) / n
    const xr = Math.cos(theta)
    const xi = Math.sin(theta)
    // (c − a)(z − 1) Π (z − z_k)/(1 − z_k)
    let nr = (c - a) * (xr - 1)
    let ni = (c - a) * xi
    for (let k = 0; k < c - 1; k++) {
      const ur = xr - z[2 * k]
      const ui = xi - z[2 * k + 1]
      const t = nr * ur - ni * ui
      ni = nr * ui + ni * ur
      nr = t
    }
    nr /= pr
    ni /= pr
    // z^c − e^(a(z − 1))
    const m = Math.exp(a * (xr - 1))
    const dr = Math.cos(c * theta) - m * Math.cos(a * xi)
    const di = Math.sin(c * theta) - m * Math.sin(a * xi)
    const den = dr * dr + di * di
    re[j] = (nr * dr + ni * di) / den
    im[j] = (ni * dr - nr * di) / den
  }
  fft(re, im)
  // The number waiting's CDF.
  const waiting = new Float64Array(n)
  let sum = 0
  let waitingMean = 0
  for (let m = 0; m < n; m++) {
    const q = re[m] / n
    if (q < -1e-9) return null
    sum += Math.max(0, q)
    waitingMean += m * Math.max(0, q)
    waiting[m] = Math.min(1, sum)
  }
  if (Math.abs(sum - 1) > 1e-8) return null
  // ln k! up to the Poisson terms the CDF sums (those within about 12 standard deviations of a).
  const logFactorial = new Float64Array(Math.ceil(a + 12 * Math.sqrt(a) + 60))
  for (let k = 1; k < logFactorial.length; k++) logFactorial[k] = logFactorial[k - 1] + Math.log(k)
  const cdf = (t: number) => {
    if (t < 0) return 0
    const j = Math.floor(t) + 1
    const mean = a * (1 - (t - Math.floor(t)))
    // P(M + Poisson(mean) ≤ jc − 1): the Poisson's terms from where they pass 10⁻³⁰⁰ or so (the
    // first in logarithms: its mean may be large) until they fall below 10⁻¹⁸ past the mean.
    const top = j * c - 1
    const first = Math.max(0, Math.floor(mean - 12 * Math.sqrt(mean) - 10))
    if (first > top) return 0
    let term = Math.exp(-mean + (first > 0 ? first * Math.log(mean) - logFactorial[first] : 0))
    let p = 0
    for (let k = first; k <= top; k++) {
      if (k > first) term *= mean / k
      if (term < 1e-18 && k > mean) break
      p += term * waiting[Math.min(n - 1, top - k)]
    }
    return Math.min(1, p)
  }
  return {
    noWait,
    // Little's law: the mean number waiting is λ × the mean wait, and a = λD.
    meanWait: waitingMean / sum / a,
    decay: c * decay,
    cdf,
    quantile(q: number) {
      if (cdf(0) >= q) return 0
      let lo = 0
      let hi = 1
      while (cdf(hi) < q) hi *= 2
      for (let i = 0; i < 60 && hi - lo > 1e-12 * hi; i++) {
        const mid = (lo + hi) / 2
        if (cdf(mid) < q) lo = mid
        else hi = mid
      }
      return (lo + hi) / 2
    }
  }
}

/**
 * The wait of those who wait, as a table for drawing it: entry i is the quantile (in service times)
 * at which P(W > t | W > 0) = e^(−i × span / size), so an Exp(1) variate x reads its wait at
 * x × size / span, interpolated linearly. In x the quantiles grow ever more nearly as x / decay (the
 * tail is exponential), so past the last entry a wait is that entry plus (x − span) / decay. The
 * entries are read off the CDF at `grid` points up to the last one, linearly between them: within
 * a few 10⁻⁵ of the figure at 1 024 points, well inside any sampling noise, for a few thousand
 * evaluations of the CDF where solving for each entry takes ten times as many.
 */
export function mdcWaitTable(wait: MdcWait, size: number, span: number, grid = 1024): Float64Array {
  const table = new Float64Array(size + 1)
  const level = (i: number) => wait.noWait + (1 - wait.noWait) * -Math.expm1((-i * span) / size)
  const top = wait.quantile(level(size))
  table[size] = top
  let t0 = 0
  let f0 = wait.cdf(0)
  let j = 0
  let t1 = 0
  let f1 = f0
  for (let i = 1; i < size; i++) {
    const p = level(i)
    while (f1 < p && j < grid) {
      t0 = t1
      f0 = f1
      j++
      t1 = (top * j) / grid
      f1 = j === grid ? level(size) : wait.cdf(t1)
    }
    table[i] = f1 > f0 ? t0 + ((p - f0) / (f1 - f0)) * (t1 - t0) : t1
  }
  return table
}
