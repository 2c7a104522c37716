// `npm run docs:accuracy`: the table in docs/simulation.md of how far the analytic mean wait of a
// several-server station (Allen–Cunneen: Erlang C × (c_a² + CV²)/2; M/D/c's exact mean at CV 0)
// lies from the discrete-event mode's, for service CVs under Poisson arrivals and for bursty and
// smooth arrivals. The runs are seeded, so the table is the same on every machine: test/docs.test.ts
// renders it again and fails when the file's copy is stale.
import { readFile, writeFile } from 'node:fs/promises'
import { replaceBlock } from '../src/docs.ts'
import { analyticMeanLatencyMs, simulate } from '../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'

const SERVERS = 4
const SERVICE_MS = 10
const SAMPLES = 2_000_000
/** The arrival-CV rows run fewer requests: their approximation's error is far above the interval. */
const ARRIVAL_SAMPLES = 500_000
const REPLICATIONS = 20
const SEED = 7

const design = (cv: number): Design => ({
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'svc', type: 'service', instances: 1, concurrency: SERVERS, serviceTimeMs: SERVICE_MS, serviceTimeCv: cv }
  ],
  links: [{ from: 'users', to: 'svc', share: 1 }]
})

const traffic = (peakRps: number, arrivalCv = 1): TrafficProfile => ({
  peakRps,
  readRatio: 1,
  payloadKb: 4,
  latencySloMs: 300,
  ...(arrivalCv === 1 ? {} : { arrivalCv })
})

export interface AccuracyRow {
  /** The arrivals' CV (1: Poisson). */
  arrivalCv: number
  cv: number
  rho: number
  analyticWaitMs: number
  simulatedWaitMs: number
  interval: [number, number]
}

/** Each (CV, ρ) cell: the analytic mean wait and the discrete-event mode's, with its 95 % interval. */
export function accuracyRows(): AccuracyRow[] {
  const rows: AccuracyRow[] = []
  const cells = [
    ...[0, 0.5, 1, 2].map((cv) => ({ arrivalCv: 1, cv, samples: SAMPLES })),
    ...[0.5, 2].map((arrivalCv) => ({ arrivalCv, cv: 1, samples: ARRIVAL_SAMPLES }))
  ]
  for (const { arrivalCv, cv, samples } of cells)
    for (const rho of [0.75, 0.9]) {
      const d = design(cv)
      const rps = (rho * SERVERS * 1000) / SERVICE_MS
      // The latency without waiting (the same in both modes): what is left is the wait.
      const base = analyticMeanLatencyMs(d, traffic(1e-9))
      const des = simulate(d, traffic(rps, arrivalCv), {
        mode: 'discrete-event',
        seed: SEED,
        samples,
        replications: REPLICATIONS
      })
      const ci = des.confidence
      if (!ci) throw new Error('the discrete-event mode gave no interval')
      rows.push({
        arrivalCv,
        cv,
        rho,
        analyticWaitMs: analyticMeanLatencyMs(d, traffic(rps, arrivalCv)) - base,
        simulatedWaitMs: (des.overall.meanLatencyMs as number) - base,
        interval: [ci.meanLatencyMs.low - base, ci.meanLatencyMs.high - base]
      })
    }
  return rows
}

const ms = (x: number) => x.toFixed(2)
const percent = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * 100).toFixed(1)} %`

export const START = '<!-- accuracy (npm run docs:accuracy writes this table) -->\n'
export const END = '<!-- /accuracy -->'

/** The generated block: the table and what it was measured with. */
export function renderAccuracy(rows: readonly AccuracyRow[]): string {
  const lines = rows.map((r) => {
    const inside = r.interval[0] <= r.analyticWaitMs && r.analyticWaitMs <= r.interval[1]
    return `| ${r.arrivalCv} | ${r.cv} | ${r.rho} | ${ms(r.analyticWaitMs)} | ${ms(r.simulatedWaitMs)} (${ms(r.interval[0])}–${ms(r.interval[1])}) | ${percent(r.analyticWaitMs / r.simulatedWaitMs - 1)} | ${inside ? 'yes' : 'no'} |`
  })
  return [
    START.trimEnd(),
    `One station of ${SERVERS} servers, ${SERVICE_MS} ms mean service, pooled; the discrete-event mode runs ${SAMPLES.toLocaleString('en-GB').replaceAll(',', ' ')} requests (${ARRIVAL_SAMPLES.toLocaleString('en-GB').replaceAll(',', ' ')} for the arrival CVs other than 1) in ${REPLICATIONS} replications (seed ${SEED}) and gives its mean wait with a 95 % interval. Arrivals with a CV below 1 come from an Erlang source, above 1 from a two-phase hyperexponential with balanced means.`,
    '',
    '| arrival CV | service CV | ρ | analytic mean wait (ms) | discrete-event mean wait, 95 % interval (ms) | analytic vs discrete-event | inside the interval |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...lines,
    END
  ].join('\n')
}

/** The document with its block replaced by `block`. */
export const withAccuracy = (doc: string, block: string): string => replaceBlock(doc, START, END, block)

export const SIMULATION_DOC = new URL('../docs/simulation.md', import.meta.url)

if (import.meta.main) {
  const doc = await readFile(SIMULATION_DOC, 'utf8')
  await writeFile(SIMULATION_DOC, withAccuracy(doc, renderAccuracy(accuracyRows())))
  console.log(`wrote ${SIMULATION_DOC.pathname}`)
}
