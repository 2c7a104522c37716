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

/** The nearest-rank quantiles of `values` (ascending qs), reordering it in place. */
export function quantiles(values: Float64Array, qs: number[]): number[] {
  const n = values.length
  if (n === 0) return qs.map(() => 0)
  let lo = 0
  return qs.map((q) => {
    const k = rankOf(n, q)
    select(values, k, lo, n - 1)
    // Everything from k on is ≥ the k-th value, so the next (higher) quantile lies there.
    lo = k
    return values[k]
  })
}
