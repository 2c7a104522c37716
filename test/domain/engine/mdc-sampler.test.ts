import t from 'tap'
import { simulate } from '../../../src/domain/engine.ts'
import { mdcWait, mdcWaitTable } from '../../../src/domain/mdc.ts'
import type { TrafficProfile } from '../../../src/domain/model.ts'
import { QUANTILES, singleStation } from '../../helpers/quantiles.ts'

// The Monte-Carlo sampler draws an M/D/c station's wait from Crommelin's exact law (a table of its
// quantiles), not as an exponential of the right mean: its sampled percentiles are the law's.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
/** users → one station of three servers and constant 10 ms service: M/D/3. */
const design = singleStation(0, 3)

t.test('an M/D/3 station drawn by the Monte-Carlo has the percentiles of its exact wait', async (t) => {
  for (const rho of [0.8, 0.95]) {
    const wait = mdcWait(rho * 3, 3)
    if (!wait) throw new Error(`no M/D/3 figure at ρ ${rho}`)
    // Twelve seeded runs of 100 000 paths (forced off the lattice): each quantile's mean over them,
    // and four standard errors from their spread (Student's t at 11 degrees of freedom: beyond it
    // once in 500). The old exponential wait was 1 to 6 % off these, 2 to 20 times the band.
    const runs = Array.from({ length: 12 }, (_, i) =>
      simulate(design, traffic(rho * 300), { exact: false, samples: 100_000, seed: 7 + i })
    )
    t.equal(runs[0].overall.percentiles, 'monte-carlo', `ρ ${rho}: sampled`)
    for (const [key, q] of QUANTILES) {
      const exact = (1 + wait.quantile(q)) * 10
      const xs = runs.map((r) => r.overall[key] as number)
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length
      const band = 4 * Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) / xs.length)
      // The results' rounding to 1 µs aside, within the runs' noise; and the noise itself small.
      t.ok(
        Math.abs(mean - exact) <= band + 1e-3,
        `ρ ${rho}: ${key} ${mean.toFixed(4)} ± ${band.toFixed(4)} = ${exact.toFixed(4)} ms`
      )
      t.ok(band < 0.01 * exact, `ρ ${rho}: ${key} pinned to ${((band / 4 / exact) * 100).toFixed(3)} %`)
    }
  }
})

t.test('the M/D/c wait table holds the exact conditional quantiles', async (t) => {
  // Entry i at P(W > t | W > 0) = e^(−12i/512); read off a grid of the CDF: within 10⁻⁴ of the
  // conditional median wait (about 3 × 10⁻⁵ measured), far inside the sampling noise above.
  for (const [c, rho] of [
    [3, 0.8],
    [3, 0.95],
    [16, 0.9]
  ]) {
    const wait = mdcWait(rho * c, c)
    if (!wait) throw new Error(`no M/D/${c} figure at ρ ${rho}`)
    const table = mdcWaitTable(wait, 512, 12)
    const scale = wait.quantile(wait.noWait + (1 - wait.noWait) * 0.5)
    let worst = 0
    for (let i = 0; i <= 512; i += 7) {
      const exact = wait.quantile(wait.noWait + (1 - wait.noWait) * -Math.expm1((-i * 12) / 512))
      worst = Math.max(worst, Math.abs(table[i] - exact) / scale)
    }
    t.ok(worst < 1e-4, `M/D/${c} at ρ ${rho}: off by at most ${worst.toExponential(1)} of the median wait`)
    // Past the table the tail is exponential: the last steps grow as 12/512 over the decay.
    const last = (table[512] - table[511]) / (12 / 512)
    t.ok(Math.abs(last * wait.decay - 1) < 0.01, `M/D/${c} at ρ ${rho}: last slope ${last} ≈ 1/${wait.decay}`)
  }
})
