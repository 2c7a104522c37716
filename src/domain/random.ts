/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same sequence everywhere. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An exponential variate with the given rate. */
export function exponential(rng: () => number, rate: number): number {
  return -Math.log(1 - rng()) / rate
}
