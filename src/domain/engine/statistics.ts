import { select } from '../queueing.ts'
import type { Interval } from '../schemas.ts'

// Figures of a sample: rounding, nearest-rank quantiles, a mean's interval.

export const round = (x: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom; 1.96 beyond. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
]

/** The 95 % interval of the mean of independent estimates. */
export function interval(values: number[]): Interval {
  const n = values.length
  const mean = values.reduce((a, b) => a + b, 0) / n
  const variance = values.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1)
  const half = (T_975[n - 2] ?? 1.96) * Math.sqrt(variance / n)
  return { low: round(mean - half), high: round(mean + half) }
}

/** The rank of quantile q among n values (nearest rank). */
export const rankOf = (n: number, q: number) => Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))

/** The nearest-rank quantiles of `values` (ascending qs); it may be reordered. */
export function quantiles(values: Float64Array, qs: number[]): number[] {
  const n = values.length
  if (n === 0) return qs.map(() => 0)
  const bucketed = n >= BUCKETED_FROM ? bucketedQuantiles(values, qs) : null
  if (bucketed) return bucketed
  let lo = 0
  return qs.map((q) => {
    const k = rankOf(n, q)
    select(values, k, lo, n - 1)
    // Everything from k on is ≥ the k-th value, so the next (higher) quantile lies there.
    lo = k
    return values[k]
  })
}

/** Samples past this many are bucketed first; fewer are selected in place. */
const BUCKETED_FROM = 512
/** Buckets at most (a bucket of the p50 holds a hundred or so of 20 000 latencies). */
const BUCKETS = 1024
/** Whether a Float64Array's high word is the second of its two 32-bit words. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

/**
 * The same quantiles without selecting among all values: a non-negative double's high 32 bits
 * order it (sign, exponent, the top of its mantissa), so values bucketed by them keep their order
 * between buckets, and each quantile is selected within its bucket alone. Three passes with few
 * mispredicted branches, where quickselect's partitions mispredict on every other value. Null
 * (select in place instead) for a value with its sign bit set (−0 included), a NaN, or qs out of
 * order (which `quantiles` answers in its own way).
 */
function bucketedQuantiles(values: Float64Array, qs: number[]): number[] | null {
  if (!LITTLE_ENDIAN || qs.some((q, j) => j > 0 && q < qs[j - 1])) return null
  const n = values.length
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n)
  let min = 0xffffffff
  let max = 0
  for (let i = 1; i < 2 * n; i += 2) {
    const hi = words[i]
    if (hi < min) min = hi
    if (hi > max) max = hi
  }
  // Above +∞'s high word: a sign bit or a NaN; at it, +∞ or a NaN whose mantissa is all in its low word.
  if (max > 0x7ff00000) return null
  if (max === 0x7ff00000) for (let i = 0; i < n; i++) if (Number.isNaN(values[i])) return null
  let shift = 0
  while ((max - min) >>> shift >= BUCKETS) shift++
  // Plain arrays: a typed array this long is allocated outside the heap, which costs more than its loop.
  const counts: number[] = new Array(((max - min) >>> shift) + 1).fill(0)
  for (let i = 1; i < 2 * n; i += 2) counts[(words[i] - min) >>> shift]++
  // Per quantile: its bucket and its rank there; per bucket holding one, its members gathered.
  const found = qs.map((q) => {
    const k = rankOf(n, q)
    let bucket = 0
    let below = 0
    while (below + counts[bucket] <= k) below += counts[bucket++]
    return { bucket, rank: k - below }
  })
  const slots: number[] = new Array(counts.length).fill(-1)
  const members: Float64Array[] = []
  for (const { bucket } of found)
    if (slots[bucket] < 0) {
      slots[bucket] = members.length
      members.push(new Float64Array(counts[bucket]))
    }
  const filled = members.map(() => 0)
  for (let i = 0; i < n; i++) {
    const slot = slots[(words[2 * i + 1] - min) >>> shift]
    if (slot >= 0) members[slot][filled[slot]++] = values[i]
  }
  return found.map(({ bucket, rank }) => {
    const m = members[slots[bucket]]
    select(m, rank, 0, m.length - 1)
    return m[rank]
  })
}
