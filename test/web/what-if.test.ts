import t from 'tap'
import type { Design } from '../../web/src/design.ts'
import { applyWhatIf, describeFailure, failureFor, isActive, NO_WHAT_IF, zonesOf } from '../../web/src/what-if.ts'

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
