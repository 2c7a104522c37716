/** mulberry32: a small, fast, seedable PRNG of 32-bit words; the same seed gives the same sequence everywhere. */
export function createWords(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
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

// Marsaglia and Tsang's ziggurat for Exp(1) ("The Ziggurat Method for Generating Random
// Variables", 2000), 256 layers: the low 8 bits of a word pick the layer, the high 24 bits the
// point in it. About 99 % of draws are one word, a compare and a multiply; the rest take the exact
// wedge test or the tail. Same distribution as -log(U), several times cheaper than the logarithm.
const LAYERS = 256
const SCALE = 2 ** 24
const R = 7.697117470131487
const V = 3.949659822581572e-3
const KE = new Uint32Array(LAYERS)
const WE = new Float64Array(LAYERS)
const FE = new Float64Array(LAYERS)
{
  let de = R
  let te = R
  const q = V / Math.exp(-de)
  KE[0] = Math.floor((de / q) * SCALE)
  KE[1] = 0
  WE[0] = q / SCALE
  WE[LAYERS - 1] = de / SCALE
  FE[0] = 1
  FE[LAYERS - 1] = Math.exp(-de)
  for (let i = LAYERS - 2; i >= 1; i--) {
    de = -Math.log(V / de + Math.exp(-de))
    KE[i + 1] = Math.floor((de / te) * SCALE)
    te = de
    FE[i] = Math.exp(-de)
    WE[i] = de / SCALE
  }
}

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

/** A standard normal variate (Box–Muller, one of the pair). */
function standardNormal(word: () => number): number {
  const u = 1 - uniform(word)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform(word))
}

/** A Gamma(shape, 1) variate: Marsaglia and Tsang (2000), boosted by U^(1/shape) below shape 1. */
export function standardGamma(word: () => number, shape: number): number {
  if (shape < 1) return standardGamma(word, shape + 1) * (1 - uniform(word)) ** (1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = standardNormal(word)
    const v0 = 1 + c * x
    if (v0 <= 0) continue
    const v = v0 * v0 * v0
    const u = 1 - uniform(word)
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v
  }
}
