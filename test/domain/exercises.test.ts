import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { designCost } from '../../src/domain/analysis.ts'
import {
  type ExerciseDefinition,
  measureDesign,
  singleService,
  trafficOf,
  validateExercise
} from '../../src/domain/exercises.ts'
import type { DesignDocument } from '../../src/domain/schemas.ts'
import { exercises, readExercises } from '../../src/exercises/index.ts'

// Every exercise's checks are themselves checked: its reference passes them all, and the designs
// that must not pass do not.

const catalogue = exercises()
t.comment(`${catalogue.list.length} exercises read and validated in ${catalogue.loadMs} ms`)

t.test('at least twelve exercises load, none refused, each its own file', async (t) => {
  t.same(catalogue.refused, [], 'no exercise refused')
  t.ok(catalogue.list.length >= 12, `${catalogue.list.length} exercises`)
  t.same(
    catalogue.list.map((e) => e.order),
    [...catalogue.list.map((e) => e.order)].sort((a, b) => a - b),
    'listed in their order'
  )
  t.equal(exercises(), catalogue, 'validated once per process: the second call answers the same object')
})

const tenfold = (d: DesignDocument): DesignDocument => ({
  ...d,
  components: d.components.map((c) => (c.type === 'client' ? c : { ...c, instances: (c.instances ?? 1) * 10 }))
})
const bare = (d: DesignDocument): DesignDocument => ({
  ...d,
  components: d.components.map((c) =>
    c.type === 'client' ? c : { ...c, instances: 1, ...(c.replicas === undefined ? {} : { replicas: 0 }) }
  )
})

for (const e of catalogue.list) {
  t.test(`${e.slug}: the reference passes, the wrong designs fail`, async (t) => {
    const r = e.requirements
    const reference = measureDesign(r, e.reference.design)
    t.same(
      reference.filter((c) => !c.passed).map((c) => `${c.title}: ${c.detail}`),
      [],
      'the reference passes every check'
    )
    t.ok(reference.length >= 4 + r.drills.length, 'latency, availability, budget and each drill are checked')
    t.ok(
      measureDesign(r, { components: [], links: [] }).every((c) => !c.passed),
      'an empty board fails every check'
    )
    t.ok(
      measureDesign(r, singleService()).some((c) => !c.passed),
      'a single service fails a check'
    )
    const budget = measureDesign(r, tenfold(e.reference.design)).find((c) => c.id === 'budget')
    t.equal(budget?.passed, false, `×10 instances fails the budget ($${budget?.measured} > $${r.budgetPerMonth})`)
    const drills = measureDesign(r, bare(e.reference.design)).filter((c) => c.id.startsWith('drill_'))
    t.ok(
      drills.some((c) => !c.passed),
      'without redundancy (instances 1, replicas 0) a failure drill fails'
    )
    t.ok(e.hints.length >= 1 && e.hints.every((h) => h.cost >= 0), 'hints with their cost')
    if (e.source) t.match(e.source.license, /CC BY 4\.0/, 'numbers from a public source are attributed')
  })
}

t.test('an unbounded latency fails its check, named as such', async (t) => {
  const e = catalogue.list[0]
  const overloaded = { ...e.requirements, peakRps: e.requirements.peakRps * 100 }
  const checks = measureDesign(overloaded, e.reference.design)
  const p95 = checks.find((c) => c.id === 'p95_at_peak')
  t.equal(p95?.passed, false)
  t.ok(p95?.measured === null || (p95?.measured ?? 0) > overloaded.p95Ms, `measured ${p95?.measured}`)
})

t.test('an exercise that fails its validation does not load, and the message names it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-exercises-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const good = catalogue.list[0]
  // The reference stripped of its redundancy: it fails its own drills.
  const broken: ExerciseDefinition = {
    ...good,
    slug: 'broken-one',
    order: 99,
    reference: { ...good.reference, design: bare(good.reference.design) }
  }
  await writeFile(join(dir, 'broken-one.json'), JSON.stringify(broken))
  await writeFile(
    join(dir, `${good.slug}.json`),
    await readFile(new URL(`../../src/exercises/${good.slug}.json`, import.meta.url))
  )
  await writeFile(join(dir, 'not-an-exercise.json'), JSON.stringify({ slug: 'not-an-exercise' }))
  const read = readExercises(pathToFileURL(`${dir}/`))
  t.same(
    read.list.map((e) => e.slug),
    [good.slug],
    'the valid one loads'
  )
  t.match(
    read.refused.join('\n'),
    /exercise broken-one not loaded: .*its reference fails "Survives losing one instance/
  )
  t.match(read.refused.join('\n'), /exercise not-an-exercise\.json not loaded: /)
  t.same(validateExercise(good), [], 'validateExercise passes the good one')
})

t.test('the budget check reads the design’s cost at the required peak', async (t) => {
  const e = catalogue.list[0]
  const cost = designCost(e.reference.design as never, trafficOf(e.requirements)).perMonth
  const budget = measureDesign(e.requirements, e.reference.design).find((c) => c.id === 'budget')
  t.equal(budget?.measured, cost)
  t.equal(budget?.required, e.requirements.budgetPerMonth)
})

t.test('a database drill on a design with no database does not apply, says why and does not pass', async (t) => {
  const guestbook = catalogue.bySlug.get('guestbook') as ExerciseDefinition
  t.ok(guestbook.requirements.drills.includes('database_primary'))
  // Two service instances answer on their own: every other check may pass, this one cannot.
  const noDatabase: DesignDocument = {
    components: [
      { id: 'users', type: 'client' },
      { id: 'api', type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 10 }
    ],
    links: [{ from: 'users', to: 'api' }]
  }
  const checks = measureDesign(guestbook.requirements, noDatabase)
  const drill = checks.find((c) => c.id === 'drill_database_primary')
  t.match(drill, { passed: false, applies: false, measured: null })
  t.match(drill?.detail, /^the design has no database on a request’s path, so there is no primary to lose/)
  t.ok(
    checks.filter((c) => c.id !== 'drill_database_primary').every((c) => c.passed),
    'the rest pass: the drill alone keeps the attempt open'
  )
  const reference = measureDesign(guestbook.requirements, guestbook.reference.design)
  t.notOk(
    reference.some((c) => 'applies' in c),
    'a design with a database: every check applies'
  )
})
