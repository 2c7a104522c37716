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

// The same ziggurat for N(0, 1), 128 layers over the half-normal: the low 7 bits of a word pick
// the layer, bit 7 the sign, the high 24 bits the point; the tail beyond R by Marsaglia's (1964)
// method. A draw is mostly one word and a multiply, where Box–Muller takes a logarithm, a square
// root and a cosine.
const NORMAL_LAYERS = 128
const RN = 3.442619855899
const VN = 9.91256303526217e-3
const KN = new Uint32Array(NORMAL_LAYERS)
const WN = new Float64Array(NORMAL_LAYERS)
const FN = new Float64Array(NORMAL_LAYERS)
{
  let dn = RN
  let tn = RN
  const q = VN / Math.exp(-0.5 * dn * dn)
  KN[0] = Math.floor((dn / q) * SCALE)
  KN[1] = 0
  WN[0] = q / SCALE
  WN[NORMAL_LAYERS - 1] = dn / SCALE
  FN[0] = 1
  FN[NORMAL_LAYERS - 1] = Math.exp(-0.5 * dn * dn)
  for (let i = NORMAL_LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(VN / dn + Math.exp(-0.5 * dn * dn)))
    KN[i + 1] = Math.floor((dn / tn) * SCALE)
    tn = dn
    FN[i] = Math.exp(-0.5 * dn * dn)
    WN[i] = dn / SCALE
  }
}

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
  const c = 1 / Math.sqrt(9 * d)
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
