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
