import type { Component, Design } from '../../src/domain/model.ts'

/** The percentiles a result reports, with their levels. */
export const QUANTILES = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99]
] as const

/** The client every test design starts from. */
export const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }

/** users → one station of 10 ms mean service, the given CV and servers. */
export const singleStation = (cv: number, concurrency = 1, fields: Partial<Component> = {}): Design => ({
  components: [
    users,
    { id: 'svc', type: 'service', instances: 1, concurrency, serviceTimeMs: 10, serviceTimeCv: cv, ...fields }
  ],
  links: [{ from: 'users', to: 'svc' }]
})

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
