import { readFile } from 'node:fs/promises'
import t from 'tap'
import { accuracyRows, renderAccuracy, withAccuracy } from '../bench/accuracy.ts'
import { renderReadinessDoc } from '../ops/readiness/render.ts'
import { renderReliabilityDoc } from '../reliability/render.ts'
import { renderComponentTable, withComponentTable } from '../src/docs.ts'
import { CATALOGUE } from '../src/domain/components.ts'

const read = (path: string) => readFile(new URL(`../${path}`, import.meta.url), 'utf8')

// The accuracy table reruns its seeded discrete-event runs: about a minute on an idle machine, and
// past the suite's 300 s on a slow CI machine whose two cores run another file beside this one.
t.setTimeout(900_000)

t.test('docs/reliability.md is rendered from the saved run (npm run docs:reliability)', async (t) => {
  t.equal(await read('docs/reliability.md'), await renderReliabilityDoc(false), 'docs/reliability.md is current')
})

t.test('docs/beta-readiness.md is generated from the saved results (npm run docs:readiness)', async (t) => {
  const doc = await renderReadinessDoc(false)
  t.equal(await read('docs/beta-readiness.md'), doc, 'docs/beta-readiness.md is current')
  t.match(doc, /\| ✅ \| every alert fires/, 'every alert has its firing and silent tests')
})

t.test('docs/simulation.md’s accuracy table is the seeded runs’ (npm run docs:accuracy)', async (t) => {
  const rows = accuracyRows()
  const doc = await read('docs/simulation.md')
  t.equal(doc, withAccuracy(doc, renderAccuracy(rows)), 'the table is current')
  // Erlang C is exact at CV 1, M/D/c at CV 0: the discrete-event mode must find them inside its own interval.
  for (const r of rows.filter((r) => (r.cv === 1 || r.cv === 0) && r.arrivalCv === 1))
    t.ok(r.interval[0] <= r.analyticWaitMs && r.analyticWaitMs <= r.interval[1], `CV ${r.cv}, ρ ${r.rho}: exact inside`)
})

t.test('docs/simulation.md’s component table is the catalogue’s (npm run docs:components)', async (t) => {
  const doc = await read('docs/simulation.md')
  t.equal(doc, withComponentTable(doc, renderComponentTable(CATALOGUE)), 'the table is current')
})

t.test('the README is an entry point: at most 150 lines, and every local link resolves', async (t) => {
  const readme = await read('README.md')
  const lines = readme.split('\n').length - 1
  t.ok(lines <= 150, `README.md has ${lines} lines`)
  const links = [...readme.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)].map((m) => m[1])
  t.ok(links.length >= 5, 'it links to the docs')
  for (const link of links) await t.resolves(read(link), `${link} exists`)
})
