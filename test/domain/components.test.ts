import t from 'tap'
import { renderComponentTable } from '../../src/docs.ts'
import { analyze } from '../../src/domain/analysis.ts'
import { CATALOGUE, fieldsOf, hasTrait, kindOf, typesWith } from '../../src/domain/components.ts'
import { simulate } from '../../src/domain/engine.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { searchDesign, WITH_SEARCH_INDEX } from '../helpers/catalogue.ts'

const traffic = { peakRps: 200, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

t.test('a type is known only to a catalogue that lists it', async (t) => {
  t.match(validateDesign(searchDesign()), [{ path: '/components/2/type', message: /unknown component type/ }])
  t.same(validateDesign(searchDesign(), WITH_SEARCH_INDEX), [], 'one entry more and it is accepted')
  for (const inherited of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    t.equal(kindOf(CATALOGUE, inherited), undefined, `${inherited} is no type`)
    t.notOk(hasTrait(CATALOGUE, inherited, 'source'))
    t.match(validateDesign(searchDesign(inherited)), [{ path: '/components/2/type' }], `${inherited} is refused`)
  }
})

t.test('a service-like type is simulated, analysed and costed as its entry says', async (t) => {
  const asService = simulate(searchDesign('service'), traffic, { seed: 3 })
  const asIndex = simulate(searchDesign(), traffic, { seed: 3, catalogue: WITH_SEARCH_INDEX })
  t.same(asIndex.overall, asService.overall, 'the figures of a service')
  t.same(
    asIndex.components.map(({ type, ...rest }) => rest),
    asService.components.map(({ type, ...rest }) => rest)
  )
  t.equal(asIndex.components[1].type, 'search_index')
  const analysis = analyze(searchDesign(), traffic, asIndex, 3, WITH_SEARCH_INDEX)
  t.same(
    analysis.cost.byComponent.find((c) => c.component === 'search'),
    { component: 'search', perMonth: 240 },
    'its own monthly cost, per instance'
  )
  t.ok(analysis.availability.fraction < 1)
})

t.test('traits decide the fields a type has', async (t) => {
  t.same(fieldsOf(CATALOGUE, 'client'), [], 'a source has nothing to size')
  t.ok(fieldsOf(CATALOGUE, 'cache').includes('hitRatio'))
  t.notOk(fieldsOf(CATALOGUE, 'service').includes('hitRatio'))
  t.ok(fieldsOf(CATALOGUE, 'database').includes('replicas'))
  t.same(fieldsOf(WITH_SEARCH_INDEX, 'search_index'), fieldsOf(CATALOGUE, 'service'))
  t.same(typesWith(CATALOGUE, 'absorbsReads'), ['cdn', 'cache'])
  const cached = searchDesign()
  cached.components[2].hitRatio = 0.5
  t.same(validateDesign(cached, WITH_SEARCH_INDEX), [
    { path: '/components/2/hitRatio', message: 'only a cache or cdn has a hit ratio' }
  ])
})

t.test('the docs table lists every type of the catalogue it is given', async (t) => {
  const table = renderComponentTable(WITH_SEARCH_INDEX)
  for (const [type, kind] of Object.entries(WITH_SEARCH_INDEX))
    t.match(table, `| \`${type}\` | ${kind.label} |`, `${type} has its row`)
})
