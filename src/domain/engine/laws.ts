import { fft } from '../fft.ts'
import type { MdcWait } from '../mdc.ts'
import { serviceExcess } from '../mg1.ts'

// Latency laws on the exact mode's lattice (exact.ts): SIZE masses at 0, h, 2h, …, held as a CDF
// or as a damped spectrum, and the operations on them that keep the mean — a shift, an
// exponential's convolution, a sum by FFT or by spectra — with the sojourns of M/G/1 and M/D/c.

/** Lattice points: a distribution is SIZE masses at 0, h, 2h, … */
export const SIZE = 4096
/**
 * The sojourns of M/G/1, M/D/c and gamma delays are convolved by transforms on SIZE points, their
 * masses damped by e^(−DAMPING k / SIZE) first and restored after: what lies past the lattice (a
 * tail beyond the range, below e^(−20) by the reach) folds back onto its start damped by
 * e^(−DAMPING), and rounding (10⁻¹⁶) grows by e^(DAMPING k / SIZE) ≤ e^(DAMPING).
 */
export const DAMPING = 12

/**
 * A latency's law on the lattice: `cdf[k]` = P(kept, finite, latency ≤ kh); `mass` the share of
 * requests kept (not lost to a saturated station), `infinite` the share of them whose latency is
 * unbounded, `atom` the share whose latency is exactly 0 (they meet no station: a write past
 * read-only links). `zero` marks the law of 0, which a fork need not convolve with. A law an
 * M/G/1, M/D/c or gamma delay made is held as its spectrum, its CDF made when first read (cdfOf):
 * a path of them convolves by products, without a transform each.
 */
export interface Law {
  cdf: Float64Array | null
  spectrum: Spectrum | null
  mass: number
  infinite: number
  atom: number
  zero: boolean
}

/**
 * A law's finite masses transformed, damped by e^(−DAMPING k / SIZE) first (`damping`, one array a
 * lattice): sums of independent laws are products of their spectra, mixtures their mixtures.
 */
export interface Spectrum {
  re: Float64Array
  im: Float64Array
  damping: Float64Array
}

/** The law's CDF (made from its spectrum the first time: the inverse transform, restored). */
export function cdfOf(d: Law): Float64Array {
  if (d.cdf !== null) return d.cdf
  const { re, im, damping } = d.spectrum as Spectrum
  // The inverse transform is the conjugate's transform, conjugated, over SIZE: its real part is what is wanted.
  const pr = Float64Array.from(re)
  const pi = new Float64Array(SIZE)
  for (let m = 0; m < SIZE; m++) pi[m] = -im[m]
  fft(pr, pi)
  const cdf = new Float64Array(SIZE)
  const finite = d.mass - d.infinite
  let sum = 0
  for (let k = 0; k < SIZE; k++) {
    sum += pr[k] / SIZE / damping[k]
    cdf[k] = Math.min(finite, Math.max(0, sum))
  }
  d.cdf = cdf
  return cdf
}

/** The law's spectrum (made from its CDF when it has none). */
export function spectrumOf(d: Law, damping: Float64Array): Spectrum {
  if (d.spectrum !== null) return d.spectrum
  const cdf = cdfOf(d)
  const re = new Float64Array(SIZE)
  const im = new Float64Array(SIZE)
  for (let k = 0; k < SIZE; k++) re[k] = (cdf[k] - (k > 0 ? cdf[k - 1] : 0)) * damping[k]
  fft(re, im)
  return { re, im, damping }
}

/** The sum of two independent laws, as the product of their spectra. */
export function multiplied(x: Law, y: Law, damping: Float64Array): Law {
  const a = spectrumOf(x, damping)
  const b = spectrumOf(y, damping)
  const re = new Float64Array(SIZE)
  const im = new Float64Array(SIZE)
  const { re: ar, im: ai } = a
  const { re: br, im: bi } = b
  for (let m = 0; m < SIZE; m++) {
    re[m] = ar[m] * br[m] - ai[m] * bi[m]
    im[m] = ar[m] * bi[m] + ai[m] * br[m]
  }
  const mass = x.mass * y.mass
  const finite = (x.mass - x.infinite) * (y.mass - y.infinite)
  return {
    cdf: null,
    spectrum: { re, im, damping },
    mass,
    infinite: mass - finite,
    atom: x.atom * y.atom,
    zero: false
  }
}

/** A law held as its CDF. */
export const fromCdf = (cdf: Float64Array | null, mass = 1, infinite = 0, atom = 0): Law => ({
  cdf,
  spectrum: null,
  mass,
  infinite,
  atom,
  zero: false
})

/** `d` delayed by `steps` lattice steps: a fractional step splits each mass between two points. */
export function shifted(d: Law, steps: number): Law {
  const j = Math.floor(steps)
  const f = steps - j
  const p = cdfOf(d)
  const cdf = new Float64Array(SIZE)
  for (let k = j; k < SIZE; k++) cdf[k] = (1 - f) * p[k - j] + (k - j - 1 >= 0 ? f * p[k - j - 1] : 0)
  return fromCdf(cdf, d.mass, d.infinite, steps > 0 ? 0 : d.atom)
}

/**
 * `d` plus an independent exponential of mean `steps` lattice steps. Each of the exponential's
 * values x is split between the points around it in proportion (a hat kernel), which keeps the
 * mean: the lattice kernel is w₀ at 0 and w₁ rʲ⁻¹ at j ≥ 1 (r = e^(−h/mean)), so the convolution
 * is a recursion, linear in SIZE.
 */
export function exponential(d: Law, steps: number): Law {
  const lambda = 1 / steps
  const r = Math.exp(-lambda)
  // w₀ = E[(1 − X/h)⁺] = 1 − (1 − e^(−λ))/λ, by its series where it would cancel.
  const w0 =
    lambda < 1e-3
      ? lambda / 2 - (lambda * lambda) / 6 + (lambda * lambda * lambda) / 24 - lambda ** 4 / 120
      : 1 + Math.expm1(-lambda) / lambda
  const w1 = (1 - w0) * (1 - r)
  const cdf = new Float64Array(SIZE)
  const p = cdfOf(d)
  let tail = 0
  for (let k = 0; k < SIZE; k++) {
    if (k > 0) tail = p[k - 1] + r * tail
    cdf[k] = w0 * p[k] + w1 * tail
  }
  return fromCdf(cdf, d.mass, d.infinite)
}

/** Masses at 0, 1, … (SIZE of them) into a CDF. */
export function cumulated(masses: Float64Array): Float64Array {
  const cdf = new Float64Array(SIZE)
  let sum = 0
  for (let k = 0; k < SIZE; k++) {
    sum += masses[k]
    cdf[k] = Math.min(1, Math.max(0, sum))
  }
  return cdf
}

/**
 * The lattice masses (SIZE of them) of a law whose E[(X − x)⁺] / mean is `excess` at x = kh (k up
 * to SIZE), the mean being `steps` lattice steps: each value split between the points around it in
 * proportion, so P(lattice > k) = (E[(X − kh)⁺] − E[(X − (k + 1)h)⁺]) / h, which keeps the mean.
 */
export function serviceMasses(excess: Float64Array, steps: number): Float64Array {
  const masses = new Float64Array(SIZE)
  let above = 1
  for (let k = 0; k < SIZE; k++) {
    const tail = steps * (excess[k] - excess[k + 1])
    masses[k] = above - tail
    above = tail
  }
  return masses
}

/**
 * M/G/1's sojourn (service of `steps` lattice steps on average, the given CV, at utilisation ρ) as
 * a spectrum: the wait is Pollaczek–Khinchine's geometric sum (1 − ρ) Σ ρⁿ R^{*n} of residual
 * service times R (density P(S > x) / E[S]), whose transform is (1 − ρ) / (1 − ρR), times the
 * service's.
 */
export function mg1Spectrum(rho: number, cv: number, steps: number, damping: Float64Array): Spectrum {
  const { first, second } = serviceExcess(cv, 1 / steps, SIZE + 1)
  const service = serviceMasses(first, steps)
  // R's tail integral: E[(R − x)⁺] = E[((S − x)⁺)²] / (2 E[S]), of mean E[S²] / (2 E[S]).
  const meanResidual = second[0] / 2
  for (let k = 0; k <= SIZE; k++) second[k] /= 2 * meanResidual
  const residual = serviceMasses(second, steps * meanResidual)
  const re = new Float64Array(SIZE)
  const im = new Float64Array(SIZE)
  // R's masses in the real part, the service's in the imaginary: one transform gives both spectra.
  for (let k = 0; k < SIZE; k++) {
    re[k] = residual[k] * damping[k]
    im[k] = service[k] * damping[k]
  }
  fft(re, im)
  const out: Spectrum = { re: new Float64Array(SIZE), im: new Float64Array(SIZE), damping }
  for (let m = 0; m < SIZE; m++) {
    const zr = re[m]
    const zi = im[m]
    const cr = re[(SIZE - m) % SIZE]
    const ci = -im[(SIZE - m) % SIZE]
    // X_m = (Z_m + conj Z_(n−m)) / 2 for R, Y_m = (Z_m − conj Z_(n−m)) / 2i for the service.
    const rr = (zr + cr) / 2
    const ri = (zi + ci) / 2
    const sr = (zi - ci) / 2
    const si = -(zr - cr) / 2
    // (1 − ρ) S / (1 − ρR)
    const dr = 1 - rho * rr
    const di = -rho * ri
    const scale = (1 - rho) / (dr * dr + di * di)
    out.re[m] = scale * (sr * dr + si * di)
    out.im[m] = scale * (si * dr - sr * di)
  }
  return out
}

/**
 * M/D/c's sojourn on the lattice (a constant service of `steps` lattice steps): the wait's CDF
 * averaged over each step (Simpson's rule; what splitting each value between the points around
 * it gives), then the service's shift.
 */
export function mdcSojourn(wait: MdcWait, steps: number): Float64Array {
  const cdf = new Float64Array(SIZE)
  let left = wait.cdf(0)
  let k = 0
  for (; k < SIZE && left < 1 - 1e-15; k++) {
    const right = wait.cdf((k + 1) / steps)
    cdf[k] = (left + 4 * wait.cdf((k + 0.5) / steps) + right) / 6
    left = right
  }
  cdf.fill(1, k)
  return cdfOf(shifted(fromCdf(cdf), steps))
}

/** The sum of two independent laws: their masses convolved (by FFT, zero-padded: no wrap-around). */
export function convolved(x: Law, y: Law): Law {
  const n = 2 * SIZE
  const re = new Float64Array(n)
  const im = new Float64Array(n)
  // x's masses in the real part, y's CDF in the imaginary: one transform gives both spectra.
  const xc = cdfOf(x)
  const yc = cdfOf(y)
  for (let k = 0; k < SIZE; k++) {
    re[k] = xc[k] - (k > 0 ? xc[k - 1] : 0)
    im[k] = yc[k]
  }
  fft(re, im)
  // X_m = (Z_m + conj Z_(n−m)) / 2, Y_m = (Z_m − conj Z_(n−m)) / 2i; the product's conjugate, transformed again, is n × the conjugate of the convolution.
  const pr = new Float64Array(n)
  const pi = new Float64Array(n)
  for (let m = 0; m < n; m++) {
    const zr = re[m]
    const zi = im[m]
    const cr = re[(n - m) % n]
    const ci = -im[(n - m) % n]
    const xr = (zr + cr) / 2
    const xi = (zi + ci) / 2
    const yr = (zi - ci) / 2
    const yi = -(zr - cr) / 2
    pr[m] = xr * yr - xi * yi
    pi[m] = -(xr * yi + xi * yr)
  }
  fft(pr, pi)
  const cdf = new Float64Array(SIZE)
  const finite = (x.mass - x.infinite) * (y.mass - y.infinite)
  for (let k = 0; k < SIZE; k++) cdf[k] = Math.min(finite, Math.max(0, pr[k] / n))
  const mass = x.mass * y.mass
  return fromCdf(cdf, mass, mass - finite, x.atom * y.atom)
}
