/** The t at which an increasing CDF reaches p, by bisection (apart from the engine). */
export function solve(cdf: (t: number) => number, p: number): number {
  let lo = 0
  let hi = 1
  while (cdf(hi) < p) hi *= 2
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (cdf(mid) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
