// M/G/1 sojourn percentiles, exactly: the Pollaczek–Khinchine transform of the sojourn inverted
// numerically (Abate and Whitt's Euler algorithm, 1995), for the service laws the product draws
// (gamma of any CV, and constant). Times are in units of the mean service time.

/** e^(−A) bounds the discretisation error; n terms, then Euler's binomial average over m more. */
const A = 18.4
const N_TERMS = 15
const M_EULER = 11
const BINOMIAL = (() => {
  const b = [1]
  for (let j = 1; j <= M_EULER; j++) b.push((b[j - 1] * (M_EULER - j + 1)) / j)
  return b.map((x) => x / 2 ** M_EULER)
})()

/** The service time's transform E[e^(−sS)] at s = x + iy, unit mean: [re, im]. */
function serviceTransform(cv: number, x: number, y: number): [number, number] {
  if (cv === 0) {
    // e^(−s)
    const r = Math.exp(-x)
    return [r * Math.cos(y), -r * Math.sin(y)]
  }
  // Gamma of shape k = 1/CV², scale CV²: (1 + CV² s)^(−k).
  const c2 = cv * cv
  const re = 1 + c2 * x
  const im = c2 * y
  const k = 1 / c2
  const modulus = Math.exp(-k * 0.5 * Math.log(re * re + im * im))
  const angle = -k * Math.atan2(im, re)
  return [modulus * Math.cos(angle), modulus * Math.sin(angle)]
}

/** Re of the sojourn's CDF transform, (1 − ρ) B(s) / (s − ρ + ρ B(s)), at s = x + iy. */
function cdfTransformRe(rho: number, cv: number, x: number, y: number): number {
  const [br, bi] = serviceTransform(cv, x, y)
  const nr = (1 - rho) * br
  const ni = (1 - rho) * bi
  const dr = x - rho + rho * br
  const di = y + rho * bi
  const d = dr * dr + di * di
  return (nr * dr + ni * di) / d
}

/** Up to this many service times, M/D/1's wait comes from Erlang's sum (beyond, it cancels too much). */
const ERLANG_TERMS = 20

/**
 * M/D/1's waiting time, exactly (Erlang, 1909): P(W ≤ t) = (1 − ρ) Σ_{k=0}^{⌊t⌋} (ρ(k − t))^k / k! · e^(−ρ(k − t)).
 * Its CDF has a kink at every whole service time, where a transform's inversion is least accurate.
 */
function md1WaitCdf(t: number, rho: number): number {
  let sum = 0
  let factorial = 1
  for (let k = 0; k <= Math.floor(t); k++) {
    if (k > 0) factorial *= k
    const u = rho * (k - t)
    sum += (u ** k / factorial) * Math.exp(-u)
  }
  return Math.min(1, Math.max(0, (1 - rho) * sum))
}

/** P(T ≤ t) for the M/G/1 sojourn T at utilisation ρ < 1 (unit mean service of the given CV). */
export function mg1SojournCdf(t: number, rho: number, cv: number): number {
  if (t <= 0) return 0
  if (cv === 0 && t <= ERLANG_TERMS) return t < 1 ? 0 : md1WaitCdf(t - 1, rho)
  const x = A / (2 * t)
  const h = Math.PI / t
  let sum = cdfTransformRe(rho, cv, x, 0) / 2
  let euler = 0
  for (let k = 1; k <= N_TERMS + M_EULER; k++) {
    sum += (k % 2 === 0 ? 1 : -1) * cdfTransformRe(rho, cv, x, k * h)
    if (k >= N_TERMS) euler += BINOMIAL[k - N_TERMS] * sum
  }
  return Math.min(1, Math.max(0, (Math.exp(A / 2) / t) * euler))
}

/**
 * The q-quantile of the M/G/1 sojourn (unit mean service), by bisection on the inverted CDF.
 * Constant service has an atom: a share 1 − ρ of requests do not wait and take exactly 1.
 */
export function mg1SojournQuantile(q: number, rho: number, cv: number): number {
  if (cv === 0 && 1 - rho >= q) return 1
  let lo = cv === 0 ? 1 : 0
  // The wait's mean is ρ(1 + CV²) / (2(1 − ρ)): the quantile lies below a generous multiple of it.
  let hi = 1 + (1 + cv * cv) * 4
  while (mg1SojournCdf(hi, rho, cv) < q) hi *= 2
  for (let i = 0; i < 48 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2
    if (mg1SojournCdf(mid, rho, cv) < q) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** Lanczos's coefficients for g = 7, nine terms: ln Γ to about 15 digits. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  // Γ(x) = Γ(x + 1) / x keeps the series where it is accurate.
  if (x < 0.5) return logGamma(x + 1) - Math.log(x)
  const z = x - 1
  let sum = LANCZOS[0]
  for (let i = 1; i < 9; i++) sum += LANCZOS[i] / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

/**
 * Q(k, y) = Γ(k, y) / Γ(k), the regularised upper incomplete gamma function, given ln Γ(k): by
 * its series below k + 1, by Lentz's continued fraction above (Numerical Recipes, §6.2).
 */
function upperGamma(k: number, y: number, logGammaK: number): number {
  if (y <= 0) return 1
  const front = Math.exp(k * Math.log(y) - y - logGammaK)
  if (front === 0) return y < k ? 1 : 0
  if (y < k + 1) {
    let term = 1 / k
    let sum = term
    for (let n = 1; n < 100_000; n++) {
      term *= y / (k + n)
      sum += term
      if (term < sum * 1e-17) break
    }
    return Math.max(0, 1 - sum * front)
  }
  const tiny = 1e-300
  let b = y + 1 - k
  let c = 1 / tiny
  let d = 1 / b
  let f = d
  for (let n = 1; n < 100_000; n++) {
    const an = -n * (n - k)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return f * front
}

/**
 * E[(S − x)⁺] and E[((S − x)⁺)²] at x = 0, step, 2 step, … (count of them) for the service S the
 * product draws, of unit mean and the given CV: the integrals of its tail and of its residual's
 * (the equilibrium law, density P(S > x)), which is what a lattice of them needs.
 */
export function serviceExcess(cv: number, step: number, count: number): { first: Float64Array; second: Float64Array } {
  const first = new Float64Array(count)
  const second = new Float64Array(count)
  if (cv === 0) {
    for (let j = 0; j < count; j++) {
      const left = Math.max(0, 1 - j * step)
      first[j] = left
      second[j] = left * left
    }
    return { first, second }
  }
  // Gamma of shape k, scale θ = CV²: with Q = Q(k, y) and g = y^k e^(−y) / Γ(k + 1) at y = x/θ,
  // E[(S − x)⁺] = θ((k − y)Q + kg) and E[((S − x)⁺)²] = θ²((k(k + 1) − 2ky + y²)Q + k(k + 1 − y)g).
  const theta = cv * cv
  const k = 1 / theta
  const logGammaK = logGamma(k)
  const logGammaK1 = logGammaK + Math.log(k)
  for (let j = 0; j < count; j++) {
    const y = (j * step) / theta
    const q = upperGamma(k, y, logGammaK)
    const g = y > 0 ? Math.exp(k * Math.log(y) - y - logGammaK1) : 0
    if (q === 0 && g === 0) break
    first[j] = Math.max(0, theta * ((k - y) * q + k * g))
    second[j] = Math.max(0, theta * theta * ((k * (k + 1) - 2 * k * y + y * y) * q + k * (k + 1 - y) * g))
  }
  return { first, second }
}

/**
 * θ with P(W > t) ≤ e^(−θt) for the M/G/1 wait (unit mean service; Lundberg's inequality): the root
 * of ρ(E[e^(θS)] − 1)/θ = 1, the residual's transform equalling 1/ρ. Infinite when nobody waits.
 */
export function mg1WaitDecay(rho: number, cv: number): number {
  if (!(rho > 0)) return Number.POSITIVE_INFINITY
  const c2 = cv * cv
  // E[e^(θS)]: e^θ constant, (1 − CV² θ)^(−1/CV²) gamma (finite below 1/CV²).
  const excess = (x: number) => rho * ((cv === 0 ? Math.expm1(x) : Math.expm1(-Math.log1p(-c2 * x) / c2)) / x) - 1
  let lo = 0
  let hi = cv === 0 ? 1 : 1 / c2
  if (cv === 0) while (excess(hi) < 0) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2
    if (excess(mid) < 0) lo = mid
    else hi = mid
  }
  return lo
}
