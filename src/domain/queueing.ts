// Closed forms for M/M/c stations. Rates are per second, times in seconds unless named *Ms.

/** Erlang C: the probability that an arrival waits, for c servers and offered load a = λ/μ < c. */
export function erlangC(c: number, a: number): number {
  if (a <= 0) return 0
  if (a >= c) return 1
  // Erlang B by its stable recursion; past the load it only shrinks, so stop once it is negligible.
  let b = 1
  for (let k = 1; k <= c; k++) {
    b = (a * b) / (k + a * b)
    if (k > a && b < 1e-16) {
      b = 0
      break
    }
  }
  const rho = a / c
  return b / (1 - rho + rho * b)
}

export interface StationFigures {
  utilization: number
  saturated: boolean
  waitProbability: number
  meanSojournMs: number
  p95SojournMs: number
}

/**
 * Tail of the M/M/c sojourn time: service S ~ Exp(μ), plus, with probability Pw,
 * a wait Wq ~ Exp(cμ − λ). P(W > t) for t in seconds.
 */
export function sojournTail(t: number, mu: number, theta: number, pw: number): number {
  const service = Math.exp(-mu * t)
  const both =
    Math.abs(theta - mu) < 1e-12 * mu
      ? (1 + mu * t) * Math.exp(-mu * t)
      : (theta * Math.exp(-mu * t) - mu * Math.exp(-theta * t)) / (theta - mu)
  return (1 - pw) * service + pw * both
}

/** The q-quantile of the sojourn time, by bisection on the tail. */
export function sojournQuantile(q: number, mu: number, theta: number, pw: number): number {
  const target = 1 - q
  let lo = 0
  let hi = 1 / mu + 1 / theta
  while (sojournTail(hi, mu, theta, pw) > target) hi *= 2
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (sojournTail(mid, mu, theta, pw) > target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** A saturated station sheds its excess; the requests it serves wait this long in its full queue. */
export const SATURATED_WAIT_MS = 5000

export function stationFigures(lambda: number, c: number, serviceTimeMs: number): StationFigures {
  const mu = 1000 / serviceTimeMs
  const utilization = lambda / (c * mu)
  if (utilization >= 1) {
    return {
      utilization,
      saturated: true,
      waitProbability: 1,
      meanSojournMs: serviceTimeMs + SATURATED_WAIT_MS,
      p95SojournMs: serviceTimeMs * Math.log(20) + SATURATED_WAIT_MS
    }
  }
  const pw = erlangC(c, lambda / mu)
  const theta = c * mu - lambda
  return {
    utilization,
    saturated: false,
    waitProbability: pw,
    meanSojournMs: (pw / theta + 1 / mu) * 1000,
    p95SojournMs: sojournQuantile(0.95, mu, theta, pw) * 1000
  }
}
