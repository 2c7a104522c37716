import t from 'tap'
import type { Component, Design, TrafficProfile } from '../../src/domain/model.ts'
import { P95_TOLERANCE, scorePredictions, THROUGHPUT_TOLERANCE } from '../../src/domain/predictions.ts'
import type { Overall } from '../../src/domain/schemas.ts'

// Predictions against the run: the p95 within ±25 %, the ceiling within ±20 %, the bottleneck
// exact or one of its identical group; the score is the share right.

const traffic: TrafficProfile = { peakRps: 5000, readRatio: 0.9, payloadKb: 4, latencySloMs: 200 }
const svc = (id: string): Component => ({ id, type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 20 })
const design: Design = {
  components: [
    { id: 'users', type: 'client' } as Component,
    { id: 'lb', type: 'load_balancer', instances: 2, concurrency: 500, serviceTimeMs: 0.5 },
    svc('service'),
    svc('service-2'),
    svc('service-3')
  ],
  links: [
    { from: 'users', to: 'lb' },
    ...['service', 'service-2', 'service-3'].map((to) => ({ from: 'lb', to, share: 1 / 3 }))
  ]
}
const overall = (o: Partial<Overall>) => ({
  overall: {
    p50: 50,
    p95: 200,
    p99: 300,
    meanLatencyMs: 60,
    throughputRps: 5000,
    errorRate: 0,
    bottleneck: 'service',
    maxSustainableRps: 2400,
    singlePointsOfFailure: [],
    ...o
  } as Overall
})

t.test('the tolerances hold at their edges', async (t) => {
  t.equal(P95_TOLERANCE, 0.25)
  t.equal(THROUGHPUT_TOLERANCE, 0.2)
  const at = (p95Ms: number) => scorePredictions({ p95Ms }, design, traffic, overall({}))?.p95Ms?.correct
  t.equal(at(250), true, '+25 % is within')
  t.equal(at(150), true, '−25 % is within')
  t.equal(at(250.1), false, 'past +25 % is not')
  t.equal(at(149.9), false, 'past −25 % is not')
  const rps = (maxSustainableRps: number) =>
    scorePredictions({ maxSustainableRps }, design, traffic, overall({}))?.maxSustainableRps?.correct
  t.equal(rps(2880), true, '+20 %')
  t.equal(rps(1920), true, '−20 %')
  t.equal(rps(2881), false)
  t.equal(rps(1919), false)
  const scored = scorePredictions({ p95Ms: 300 }, design, traffic, overall({}))
  t.equal(scored?.p95Ms?.error, 0.5, 'the error is relative to the result')
})

t.test('the bottleneck: exact, or one of its identical group', async (t) => {
  const named = (bottleneck: string) =>
    scorePredictions({ bottleneck }, design, traffic, overall({ bottleneck: 'service' }))?.bottleneck?.correct
  t.equal(named('service'), true)
  t.equal(named('service-3'), true, 'an identical service carrying the same load is the same bottleneck')
  t.equal(named('lb'), false)
})

t.test('an unbounded p95 cannot be predicted right; the score is the share right; none made is null', async (t) => {
  const scored = scorePredictions(
    { p95Ms: 200, bottleneck: 'service-2', maxSustainableRps: 5000 },
    design,
    traffic,
    overall({ p95: null })
  )
  t.match(scored, {
    p95Ms: { correct: false, actual: null, error: null },
    bottleneck: { correct: true },
    maxSustainableRps: { correct: false }
  })
  t.equal(scored?.score, 33)
  t.equal(scorePredictions({}, design, traffic, overall({})), null)
  t.equal(scorePredictions(null, design, traffic, overall({})), null)
})
