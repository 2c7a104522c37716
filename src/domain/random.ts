/** mulberry32: a small, fast, seedable PRNG of 32-bit words; the same seed gives the same sequence everywhere. */
export function createWords(seed: number): () => number {
  // Kept as a signed 32-bit integer (the same bits): a small integer V8 stores in place, where an
  // unsigned one past 2^31 would be a heap number allocated on every draw.
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** The next word of a source as a uniform number in [0, 1). */
export function uniform(word: () => number): number {
  return word() / 4294967296
}

/** Uniform numbers in [0, 1) from mulberry32. */
export function createRng(seed: number): () => number {
  const word = createWords(seed)
  return () => uniform(word)
}

/** An exponential variate with the given rate. */
export function exponential(rng: () => number, rate: number): number {
  return -Math.log(1 - rng()) / rate
}

const SCALE = 2 ** 24

/**
 * A ziggurat's tables for a decreasing density f (unnormalised, f(0) = 1) with inverse `inverse`:
 * `layers` layers of area v each, the base one reaching out to r. Per layer: k, below which a
 * point (of 24 bits) lies inside the next layer's rectangle and is taken at once; w, a point's
 * width; f, the density at the layer's edge (Marsaglia and Tsang, 2000).
 */
function zigguratTables(
  layers: number,
  r: number,
  v: number,
  f: (x: number) => number,
  inverse: (y: number) => number
) {
  const k = new Uint32Array(layers)
  const w = new Float64Array(layers)
  const fx = new Float64Array(layers)
  let x = r
  let outer = r
  const q = v / f(x)
  k[0] = Math.floor((x / q) * SCALE)
  k[1] = 0
  w[0] = q / SCALE
  w[layers - 1] = x / SCALE
  fx[0] = 1
  fx[layers - 1] = f(x)
  for (let i = layers - 2; i >= 1; i--) {
    x = inverse(v / x + f(x))
    k[i + 1] = Math.floor((x / outer) * SCALE)
    outer = x
    fx[i] = f(x)
    w[i] = x / SCALE
  }
  return { k, w, f: fx }
}

// Marsaglia and Tsang's ziggurat for Exp(1) ("The Ziggurat Method for Generating Random
// Variables", 2000), 256 layers: the low 8 bits of a word pick the layer, the high 24 bits the
// point in it. About 99 % of draws are one word, a compare and a multiply; the rest take the exact
// wedge test or the tail. Same distribution as -log(U), several times cheaper than the logarithm.
const R = 7.697117470131487
const {
  k: KE,
  w: WE,
  f: FE
} = zigguratTables(
  256,
  R,
  3.949659822581572e-3,
  (x) => Math.exp(-x),
  (y) => -Math.log(y)
)

/** An Exp(1) variate from a word source, by the ziggurat. */
export function standardExponential(word: () => number): number {
  for (;;) {
    const w = word()
    const layer = w & 255
    const j = w >>> 8
    if (j < KE[layer]) return j * WE[layer]
    // The base layer's tail beyond R: by memorylessness, R plus a fresh Exp(1).
    if (layer === 0) return R - Math.log(1 - uniform(word))
    const x = j * WE[layer]
    if (FE[layer] + uniform(word) * (FE[layer - 1] - FE[layer]) < Math.exp(-x)) return x
  }
}

// The same ziggurat for N(0, 1), 128 layers over the half-normal: the low 7 bits of a word pick
// the layer, bit 7 the sign, the high 24 bits the point; the tail beyond R by Marsaglia's (1964)
// method. A draw is mostly one word and a multiply, where Box–Muller takes a logarithm, a square
// root and a cosine.
const RN = 3.442619855899
const {
  k: KN,
  w: WN,
  f: FN
} = zigguratTables(
  128,
  RN,
  9.91256303526217e-3,
  (x) => Math.exp(-0.5 * x * x),
  (y) => Math.sqrt(-2 * Math.log(y))
)

/** A standard normal variate from a word source, by the ziggurat. */
export function standardNormal(word: () => number): number {
  for (;;) {
    const w = word()
    const layer = w & 127
    const sign = (w & 128) === 0 ? 1 : -1
    const j = w >>> 8
    const x = j * WN[layer]
    if (j < KN[layer]) return sign * x
    if (layer === 0) {
      let t: number
      let y: number
      do {
        t = -Math.log(1 - uniform(word)) / RN
        y = -Math.log(1 - uniform(word))
      } while (y + y < t * t)
      return sign * (RN + t)
    }
    if (FN[layer] + uniform(word) * (FN[layer - 1] - FN[layer]) < Math.exp(-0.5 * x * x)) return sign * x
  }
}

/** A Gamma(shape, 1) variate: Marsaglia and Tsang (2000), boosted by U^(1/shape) below shape 1. */
export function standardGamma(word: () => number, shape: number): number {
  // U^(1/shape) as e^(−E/shape) with E ~ Exp(1): the ziggurat and an exponential, not a power.
  if (shape < 1) return standardGamma(word, shape + 1) * Math.exp(-standardExponential(word) / shape)
  const d = shape - 1 / 3
  return marsagliaTsang(word, d, 1 / Math.sqrt(9 * d))
}

/**
 * Marsaglia and Tsang's rejection loop for Gamma(d + 1/3, 1), c = 1/√(9d): what standardGamma
 * draws, for a caller that computes d and c once (a station draws thousands).
 */
export function marsagliaTsang(word: () => number, d: number, c: number): number {
  for (;;) {
    const x = standardNormal(word)
    const v0 = 1 + c * x
    if (v0 <= 0) continue
    const v = v0 * v0 * v0
    const u = 1 - uniform(word)
    // The paper's squeeze first: it lies inside the exact test and spares two logarithms ~98 % of the time.
    const x2 = x * x
    if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d - d * v + d * Math.log(v)) return d * v
  }
}
