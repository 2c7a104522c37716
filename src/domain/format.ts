// Figures as people read them: shared by the grade, the reports and the web app (no dependencies).

/** An availability as a percentage with as many digits as its nines need: 99.9%, 99.95%, 99.9999%. */
export function availabilityPct(fraction: number): string {
  const down = 1 - fraction
  if (down <= 1e-9) return '100%'
  const digits = Math.min(8, Math.max(1, Math.ceil(-Math.log10(down) - 1e-9) - 1))
  return `${(fraction * 100)
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '')}%`
}

/** A share (an error rate, a share of requests) as a percentage to a tenth: 30%, 0.5%. */
export const percent = (x: number): string => `${Math.round(x * 1000) / 10}%`

/** A computed request rate as people read it: whole requests a second from 100 up, three significant digits below. */
export const rate = (x: number): number => (x >= 100 ? Math.round(x) : Number(x.toPrecision(3)))
export const rps = (x: number): string => `${rate(x)} rps`

/** A latency as people read it: three significant figures at most (whole milliseconds from 100 up). */
export const millis = (x: number): number => Number(x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2))
export const ms = (x: number | null): string => (x === null ? 'unbounded' : `${millis(x)} ms`)

/** What an unbounded figure says instead of a number: a saturated station's queue grows without end. */
export const unboundedText = (queueGrowthRps: number): string =>
  `unbounded — the queue grows by ${rate(queueGrowthRps)} requests a second`
/** A latency, or (null) what an unbounded one says: the run's queue growth is the N in it. */
export const latencyText = (x: number | null, queueGrowthRps: number): string =>
  x === null ? unboundedText(queueGrowthRps) : ms(x)

/** A latency within a bound: never when it is unbounded (null). */
export const within = (x: number | null, bound: number): boolean => x !== null && x <= bound
/** The larger of two latencies, an unbounded one (null) the largest. */
export const largest = (a: number | null, b: number | null): number | null =>
  a === null || b === null ? null : Math.max(a, b)

interface Breaking {
  sloBreakRps: number | null
  sweep: { rps: number; p95: number | null; errorRate: number }[]
}

/** Why the SLO first breaks as load grows: the p95 passes it, or requests are lost while the p95 holds. */
export function sloBreakCause(a: Breaking, sloMs: number): 'p95' | 'errors' | null {
  if (a.sloBreakRps === null) return null
  const at = a.sweep.find((p) => p.rps >= (a.sloBreakRps as number) - 1e-9) ?? a.sweep.at(-1)
  return at && within(at.p95, sloMs) && at.errorRate > 0 ? 'errors' : 'p95'
}

/** The load at which the SLO first breaks, as a sentence. */
export function sloBreakSentence(a: Breaking, sloMs: number): string {
  const cause = sloBreakCause(a, sloMs)
  if (cause === null) return `The p95 SLO of ${sloMs} ms holds at every load of the sweep, and no request is lost.`
  return cause === 'p95'
    ? `The p95 SLO of ${sloMs} ms is first missed at ${rps(a.sloBreakRps as number)}.`
    : `Requests are first lost at ${rps(a.sloBreakRps as number)} (timeouts, full queues or saturation), while the p95 stays within the SLO of ${sloMs} ms.`
}

/** What the design with every suggested size does at peak, as a sentence, with what is left when the SLO still breaks. */
export function sizedSentence(
  sized: { p95: number | null; errorRate: number; sloHolds: boolean },
  sloMs: number
): string {
  const lost = sized.errorRate > 0 ? ` and ${Math.round(sized.errorRate * 10000) / 100}% of requests are lost` : ''
  const verdict = sized.sloHolds
    ? 'the SLO holds'
    : !within(sized.p95, sloMs)
      ? 'the SLO still does not hold — what is left is service time, not waiting'
      : 'requests are still lost, to timeouts or full queues that more instances do not cure'
  return `With every suggested size the p95 at peak is ${ms(sized.p95)}${lost}: ${verdict}.`
}

/** Utilisation bands, from the top: the canvas, its legend and the report colour by them. */
export const UTILIZATION_BANDS = Object.freeze([
  { band: 'over', from: 1 },
  { band: 'high', from: 0.85 },
  { band: 'mid', from: 0.6 },
  { band: 'low', from: Number.NEGATIVE_INFINITY }
] as const)
export type UtilizationBand = (typeof UTILIZATION_BANDS)[number]['band']

export const utilizationBand = (u: number): UtilizationBand =>
  (UTILIZATION_BANDS.find((b) => u >= b.from) ?? UTILIZATION_BANDS[UTILIZATION_BANDS.length - 1]).band

/** A band's range as a legend says it: "under 60%", "60–85%", "85–100%", "saturated". */
export function bandRange(band: UtilizationBand): string {
  const i = UTILIZATION_BANDS.findIndex((b) => b.band === band)
  const pct = (u: number) => Math.round(u * 100)
  if (i === 0) return 'saturated'
  const { from } = UTILIZATION_BANDS[i]
  const to = pct(UTILIZATION_BANDS[i - 1].from)
  return Number.isFinite(from) ? `${pct(from)}–${to}%` : `under ${to}%`
}
