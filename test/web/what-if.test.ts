import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import type { Design as ModelDesign } from '../../src/domain/model.ts'
import { previewDesign } from '../../src/domain/preview.ts'
import type { Design } from '../../web/src/design.ts'
import {
  applyWhatIf,
  describeFailure,
  type Failure,
  failureFor,
  isActive,
  NO_WHAT_IF,
  zonesOf
} from '../../web/src/what-if.ts'

// What-if's design and traffic: more load, an instance, a primary or a zone lost; the design it
// was given stays as it was.

const design: Design = Object.freeze({
  components: [
    { id: 'users', type: 'client' },
    { id: 'api', type: 'service', instances: 4, concurrency: 8, serviceTimeMs: 5, zones: ['a', 'b'] },
    { id: 'solo', type: 'service', instances: 1, concurrency: 8, serviceTimeMs: 5, zones: ['a'] },
    { id: 'db', type: 'database', instances: 1, concurrency: 8, serviceTimeMs: 5, replicas: 2 }
  ],
  links: []
}) as Design
const traffic = { peakRps: 300, readRatio: 0.9, payloadKb: 1, latencySloMs: 200 }

t.test('what-if scales the traffic and loses what is clicked, never touching the design', async (t) => {
  const before = JSON.stringify(design)
  t.notOk(isActive(NO_WHAT_IF))
  const doubled = applyWhatIf(design, traffic, { multiplier: 2, failures: [] })
  t.equal(doubled.traffic.peakRps, 600)
  t.same(doubled.design, design)
  const api = design.components[1]
  const db = design.components[3]
  t.same(failureFor(api), { kind: 'instance', component: 'api' })
  t.same(failureFor(db), { kind: 'primary', component: 'db' }, 'a database with replicas loses its primary')
  const lost = applyWhatIf(design, traffic, { multiplier: 1, failures: [failureFor(api), failureFor(db)] })
  t.match(lost.design.components[1], { instances: 3 })
  t.match(lost.design.components[3], { instances: 1, replicas: 1 })
  t.same(lost.down, [])
  const single = applyWhatIf(design, traffic, { multiplier: 1, failures: [{ kind: 'instance', component: 'solo' }] })
  t.same(single.down, ['solo'], 'one instance lost is an outage')
  t.same(zonesOf(design), ['a', 'b'])
  const zone = applyWhatIf(design, traffic, { multiplier: 1, failures: [{ kind: 'zone', zone: 'a' }] })
  t.match(zone.design.components[1], { instances: 2 }, 'half of four over two zones')
  t.same(zone.down, ['solo'], 'what lives in that zone only is down')
  t.equal(describeFailure({ kind: 'zone', zone: 'a' }), 'zone a lost')
  t.equal(JSON.stringify(design), before, 'the design as it was')
})

t.test(
  'losing the only instance, or a zone, shows in the what-if preview as the analysis’s failure scenario says',
  async (t) => {
    // search runs one instance in zone a only; the database has one instance and no replica.
    const saved: Design = Object.freeze({
      components: [
        { id: 'users', type: 'client' },
        { id: 'api', type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 5, zones: ['a', 'b'] },
        { id: 'search', type: 'service', instances: 1, concurrency: 8, serviceTimeMs: 5, zones: ['a'] },
        { id: 'db', type: 'database', instances: 1, concurrency: 16, serviceTimeMs: 3, replicas: 0 }
      ],
      links: [
        { from: 'users', to: 'api' },
        { from: 'api', to: 'search', share: 0.3 },
        { from: 'api', to: 'db', traffic: 'write' }
      ]
    }) as Design
    const profile = { peakRps: 200, readRatio: 0.8, payloadKb: 1, latencySloMs: 100 }
    const before = JSON.stringify(saved)
    const run = simulateAndAnalyze(saved as ModelDesign, profile, 1)
    const scenario = (component: string) => run.analysis.failures.find((f) => f.component === component)
    const whatIf = (failures: Failure[]) => {
      const w = applyWhatIf(saved, profile, { multiplier: 1, failures })
      return {
        ...w,
        preview: previewDesign(w.design as ModelDesign, w.traffic, 5_000_000, undefined, undefined, w.down)
      }
    }

    const search = whatIf([failureFor(saved.components[2])])
    t.same(search.down, ['search'])
    t.match(scenario('search'), { lost: 'instance', outage: true, errorRate: 0.3 })
    t.equal(search.preview.overall.errorRate, scenario('search')?.errorRate, 'the error rate the analysis gives')
    t.same(
      search.preview.outage,
      {
        down: ['search'],
        failingShare: 0.3,
        routes: [
          { components: ['api', 'search'], share: 0.24 },
          { components: ['api', 'search', 'db'], share: 0.06 }
        ],
        routesOmitted: 0
      },
      'the routes that fail: reads, and writes that go on to the database'
    )
    t.equal(search.preview.overall.throughputRps, 140, 'the rest are served')
    t.ok(
      search.preview.availability.fraction <= 0.7,
      `availability ${search.preview.availability.fraction}: what meets search is never up`
    )

    // A database primary with no replica to promote: it is down, and every write fails.
    const db = whatIf([failureFor(saved.components[3])])
    t.same(db.down, ['db'], 'a primary with no replica is the database down')
    t.match(scenario('db'), { outage: true, errorRate: 0.2 })
    t.equal(db.preview.overall.errorRate, scenario('db')?.errorRate)

    // Zone a: search is down, api keeps its zone-b instance; as the analysis's zone scenario.
    const zone = whatIf([{ kind: 'zone', zone: 'a' }])
    const zoneScenario = scenario('zone:a')
    t.same(zone.down, ['search'])
    t.match(zone.design.components[1], { instances: 1 })
    t.match(zoneScenario, { lost: 'zone', outage: true })
    t.equal(zone.preview.overall.errorRate, zoneScenario?.errorRate, 'the zone’s error rate')
    const p95 = zone.preview.overall.p95 as number
    t.ok(
      Math.abs(p95 - (zoneScenario?.p95 as number)) <= 0.1 * p95,
      `p95 ${p95} ms as the zone scenario's ${zoneScenario?.p95} ms (within the samples' noise)`
    )

    // Everything down: no request is served.
    const all = whatIf([failureFor(saved.components[1]), failureFor(saved.components[1])])
    t.same(all.down, ['api'], 'the second instance lost is api down')
    t.match(all.preview.overall, { errorRate: 1, throughputRps: 0 })
    t.equal(all.preview.availability.fraction, 0)

    // No what-if: the preview as it always was, with no outage.
    t.notOk(previewDesign(saved as ModelDesign, profile, 5_000_000).outage)
    t.equal(JSON.stringify(saved), before, 'the saved design as it was')
  }
)
