import t from 'tap'
import { Value } from 'typebox/value'
import { simulateAndAnalyze } from '../../../src/domain/analysis.ts'
import { simulate } from '../../../src/domain/engine.ts'
import { grade } from '../../../src/domain/grading.ts'
import {
  type Component,
  type Design,
  fromOlderModel,
  MODEL_VERSION,
  type TrafficProfile
} from '../../../src/domain/model.ts'
import { renderReport } from '../../../src/domain/report.ts'
import { RunResultSchema } from '../../../src/domain/schemas.ts'
import { reportInput } from '../../helpers/reports.ts'

// A saturated station has no steady state: its latency, and every end-to-end figure its requests
// reach, is unbounded (null), beside what is known — what it serves and how fast its queue grows.

const traffic = (peakRps: number): TrafficProfile => ({ peakRps, readRatio: 1, payloadKb: 4, latencySloMs: 300 })
const users: Component = { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
/** users → svc, an M/M/1 of 10 ms (100 rps). */
const single: Design = {
  components: [users, { id: 'svc', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 10 }],
  links: [{ from: 'users', to: 'svc' }]
}

t.test('an M/M/1 at ρ 1.25 reports no latency, and what it serves and queues', async (t) => {
  const r = simulate(single, traffic(125))
  t.same([r.overall.p50, r.overall.p95, r.overall.p99, r.overall.meanLatencyMs], [null, null, null, null])
  t.equal(r.overall.unbounded, true)
  t.same(r.overall.overload, { unboundedShare: 1, queueGrowthRps: 25 }, 'the queue grows by λ − μ = 25 a second')
  t.equal(r.overall.throughputRps, 100, 'it serves its capacity')
  const svc = r.components[0]
  t.equal(svc.meanLatencyMs, null)
  t.equal(svc.p95LatencyMs, null)
  t.equal(svc.unbounded, true)
  // Each second 25 more wait ahead, served at 100 a second: the wait grows by 250 ms a second.
  t.same(svc.overload, { servedRps: 100, queueGrowthRps: 25, waitGrowthMsPerSecond: 250 })
})

t.test('past saturation the latency is unbounded, not a smaller number', async (t) => {
  // At ρ 0.999 the M/M/1 mean is 10 / 0.001 = 10 s: finite, and nothing past it is a number.
  const near = simulate(single, traffic(99.9), { samples: 200_000 })
  t.ok((near.overall.meanLatencyMs as number) > 8000, `ρ 0.999: mean ${near.overall.meanLatencyMs} ms`)
  t.equal(near.overall.unbounded, undefined)
  for (const rps of [100.5, 125, 300]) t.equal(simulate(single, traffic(rps)).overall.meanLatencyMs, null, `${rps} rps`)
})

t.test('only the figures the unbounded requests reach are null', async (t) => {
  // 3 % of requests also call `rare`, which is at ρ 2: half of them are shed, the rest queue
  // without end: 1.5 % of those served, so the p99 is unbounded and the p95 is not.
  const design: Design = {
    components: [
      users,
      { id: 'svc', type: 'service', instances: 1, concurrency: 10, serviceTimeMs: 10 },
      { id: 'rare', type: 'service', instances: 1, concurrency: 1, serviceTimeMs: 100 }
    ],
    links: [
      { from: 'users', to: 'svc' },
      { from: 'svc', to: 'rare', share: 0.03 }
    ]
  }
  const r = simulate(design, traffic(2000 / 3))
  t.type(r.overall.p50, 'number')
  t.type(r.overall.p95, 'number')
  t.equal(r.overall.p99, null)
  t.equal(r.overall.meanLatencyMs, null)
  t.ok(Math.abs((r.overall.overload?.unboundedShare ?? 0) - 0.015 / 0.985) < 1e-3, 'the unbounded share is exact')
  t.equal(r.components.find((c) => c.id === 'svc')?.unbounded, undefined, 'svc itself is bounded')
})

t.test('the sweep, the grade and the exports say unbounded and how fast the queue grows', async (t) => {
  const r = simulateAndAnalyze(single, traffic(125), 1)
  t.equal(r.modelVersion, MODEL_VERSION, 'the run records its model')
  const past = r.analysis.sweep.filter((p) => p.rps > 100)
  t.ok(past.length > 0 && past.every((p) => p.p95 === null), 'every sweep point past 100 rps is unbounded')
  t.ok(
    r.analysis.sweep.filter((p) => p.rps < 100).every((p) => p.p95 !== null),
    'every one below is a number'
  )
  const g = grade(single, traffic(125), r)
  const slo = g.items.find((i) => i.id === 'latency_slo')
  t.match(slo?.finding, /p95 is unbounded — the queue grows by 25 requests a second/)
  t.equal(slo?.points, 0)
  const input = reportInput('overloaded', single, traffic(125), r, g)
  for (const format of ['markdown', 'html'] as const) {
    const { content } = renderReport(format, input)
    t.match(content, /unbounded — the queue grows by 25 requests a second/, `${format} says why`)
    t.notMatch(content, /5\d{3}(\.\d+)? ms/, `${format} prints no 5 s figure`)
  }
  const json = JSON.parse(renderReport('json', input).content)
  t.equal(json.simulation.result.overall.p95, null, 'the JSON export carries null')
})

t.test('a result stored by an older model still reads, marked as older', async (t) => {
  const stored = simulateAndAnalyze(single, traffic(50), 1)
  const { modelVersion: _, ...older } = stored
  // An older run: a 5 s charge where the current model says unbounded, and no modelVersion.
  const legacy = { ...older, overall: { ...older.overall, p95: 5018 } }
  t.ok(Value.Check(RunResultSchema, legacy), 'the schema still reads it')
  t.ok(fromOlderModel(legacy), 'marked as from an older model')
  t.notOk(fromOlderModel(stored))
  const md = renderReport('markdown', reportInput('old', single, traffic(50), legacy)).content
  t.match(md, /Computed by an older model/)
})
