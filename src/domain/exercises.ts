// Exercises: a problem with requirements as numbers, and the checks an attempt is held to, each
// measured by the engine and its analysis. An exercise is data (src/exercises/*.json); this is
// its shape, the checks, and the validation every exercise passes before it loads: its reference
// passes every check, and the designs that must not pass do not.
import { type Static, Type } from 'typebox'
import { type Analysis, analyze, designCost } from './analysis.ts'
import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import { createEngineCache, type EngineCache, type SimulationResult, simulate } from './engine.ts'
import { type Drill, type Requirements, RequirementsSchema } from './exercise-schemas.ts'
import type { Design, TrafficProfile } from './model.ts'
import { type Check, type DesignDocument, DesignSchema, OneOf, strict } from './schemas.ts'
import { validateDesign } from './validate.ts'

/** What the worker stores as a run's result. */
export type AnalyzedResult = SimulationResult & { analysis: Analysis }

export const DIFFICULTIES = ['beginner', 'intermediate', 'advanced'] as const

export const HintSchema = Type.Object(
  { text: Type.String({ minLength: 1 }), cost: Type.Integer({ minimum: 0, maximum: 50 }) },
  strict
)

export const ExerciseDefinitionSchema = Type.Object(
  {
    slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 60 }),
    order: Type.Integer({ minimum: 1 }),
    title: Type.String({ minLength: 1 }),
    difficulty: OneOf(DIFFICULTIES),
    statement: Type.String({ minLength: 1 }),
    lesson: Type.String({ minLength: 1 }),
    requirements: RequirementsSchema,
    hints: Type.Array(HintSchema, { minItems: 1 }),
    reference: Type.Object(
      { design: DesignSchema, explanation: Type.String({ minLength: 1 }) },
      { ...strict, description: 'a design that passes every check, shown after a graded attempt or a give-up' }
    ),
    source: Type.Optional(
      Type.Object(
        { title: Type.String(), url: Type.String(), license: Type.String() },
        { ...strict, description: 'where its numbers come from (the numbers only, never the prose)' }
      )
    )
  },
  strict
)
export type ExerciseDefinition = Static<typeof ExerciseDefinitionSchema>

/** The traffic profile an attempt is held to: every field locked. */
export function trafficOf(r: Requirements): Required<TrafficProfile> {
  return {
    peakRps: r.peakRps,
    readRatio: r.readRatio,
    payloadKb: r.payloadKb,
    latencySloMs: r.p95Ms,
    budgetPerMonth: r.budgetPerMonth,
    availabilityTarget: r.availabilityTarget,
    arrivalCv: 1
  }
}

/** The traffic profile's fields an attempt may not change (their columns, as PATCH names them). */
export const LOCKED_FIELDS = [
  'peakRps',
  'readRatio',
  'payloadKb',
  'latencySloMs',
  'budgetPerMonth',
  'availabilityTarget'
] as const

const DRILL_TITLES: Record<Drill, string> = {
  instance: 'Survives losing one instance of any component',
  zone: 'Survives losing a zone',
  database_primary: 'Survives losing the database primary'
}

const ms = (x: number) => `${Math.round(x * 10) / 10} ms`
const pct = (x: number) => `${Math.round(x * 1e6) / 1e4}%`
/** A latency the model could not bound (null, infinite: saturated or overloaded) fails its check. */
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x)

/** The checks' ids in the order a grade lists them. */
export function checkIds(r: Requirements): string[] {
  return [
    'p95_at_peak',
    'p99_at_peak',
    'availability',
    'budget',
    ...r.drills.map((d) => `drill_${d}`),
    ...(r.growth ? ['growth'] : [])
  ]
}

function titleOf(id: string, r: Requirements): { title: string; unit: Check['unit']; required: number } {
  if (id === 'p95_at_peak')
    return { title: `p95 within ${r.p95Ms} ms at ${r.peakRps} rps`, unit: 'ms', required: r.p95Ms }
  if (id === 'p99_at_peak')
    return { title: `p99 within ${r.p99Ms} ms at ${r.peakRps} rps`, unit: 'ms', required: r.p99Ms }
  if (id === 'availability')
    return {
      title: `Availability of at least ${pct(r.availabilityTarget)}`,
      unit: 'fraction',
      required: r.availabilityTarget
    }
  if (id === 'budget')
    return { title: `Costs at most $${r.budgetPerMonth} a month`, unit: 'usd_per_month', required: r.budgetPerMonth }
  if (id === 'growth')
    return {
      title: `${r.growth?.statement ?? 'Traffic grows'}: p95 within ${r.p95Ms} ms at ${Math.round(r.peakRps * (r.growth?.factor ?? 1) * 1000) / 1000} rps`,
      unit: 'ms',
      required: r.p95Ms
    }
  const drill = id.slice('drill_'.length) as Drill
  return { title: DRILL_TITLES[drill], unit: 'ms', required: r.p95Ms }
}

/** Every check failed: a design the model cannot measure (not valid, or an empty board). */
export function unmeasurable(r: Requirements, why: string): Check[] {
  return checkIds(r).map((id) => ({ id, ...titleOf(id, r), passed: false, measured: null, detail: why }))
}

/**
 * Measures a design against the requirements from its run's result and analysis (as the worker
 * stores them), plus the growth step (one engine run at factor × peak). A latency that is null or
 * unbounded fails its check.
 */
export function measureChecks(
  r: Requirements,
  design: Design,
  result: AnalyzedResult,
  catalogue: Catalogue = CATALOGUE,
  cache: EngineCache = createEngineCache()
): Check[] {
  const o = result.overall
  const a = result.analysis
  const errors = o.errorRate > 0 ? ` and ${pct(o.errorRate)} of requests fail` : ''
  const latency = (id: string, measured: number | null): Check => {
    const passed = finite(measured) && measured <= r[id === 'p95_at_peak' ? 'p95Ms' : 'p99Ms'] && o.errorRate === 0
    return {
      id,
      ...titleOf(id, r),
      passed,
      measured: finite(measured) ? measured : null,
      detail: finite(measured)
        ? `${id.slice(0, 3)} is ${ms(measured)} at peak${errors}`
        : `unbounded at peak: ${o.bottleneck ?? 'a component'} saturates`
    }
  }
  const checks: Check[] = [latency('p95_at_peak', o.p95), latency('p99_at_peak', o.p99)]
  checks.push({
    id: 'availability',
    ...titleOf('availability', r),
    passed: a.availability.fraction >= r.availabilityTarget,
    measured: a.availability.fraction,
    detail: `up ${pct(a.availability.fraction)} of the time, about ${a.availability.downtimeMinutesPerMonth} minutes down a month`
  })
  checks.push({
    id: 'budget',
    ...titleOf('budget', r),
    passed: a.cost.perMonth <= r.budgetPerMonth,
    measured: a.cost.perMonth,
    detail: `costs $${a.cost.perMonth} a month`
  })
  for (const drill of r.drills) checks.push(drillCheck(drill, r, design, a, catalogue))
  if (r.growth) {
    const grown = simulate(
      design,
      { ...trafficOf(r), peakRps: r.peakRps * r.growth.factor },
      { seed: result.seed, samples: 4000, componentPercentiles: false, catalogue, cache }
    ).overall
    const passed = finite(grown.p95) && grown.p95 <= r.p95Ms && grown.errorRate === 0
    checks.push({
      id: 'growth',
      ...titleOf('growth', r),
      passed,
      measured: finite(grown.p95) ? grown.p95 : null,
      detail: !finite(grown.p95)
        ? `unbounded at ${r.growth.factor}× peak: ${grown.bottleneck ?? 'a component'} saturates`
        : `p95 is ${ms(grown.p95)} at ${r.growth.factor}× peak${grown.errorRate > 0 ? ` and ${pct(grown.errorRate)} of requests fail` : ''}`
    })
  }
  return checks
}

/** A failure drill: every scenario of its kind the analysis ran keeps the p95 SLO with no errors. */
function drillCheck(
  drill: Drill,
  r: Requirements,
  design: Design,
  a: AnalyzedResult['analysis'],
  catalogue: Catalogue
): Check {
  const replicated = (id: string) => {
    const c = design.components.find((x) => x.id === id)
    return c !== undefined && hasTrait(catalogue, c.type, 'replicated')
  }
  const scenarios = a.failures.filter((f) =>
    drill === 'zone'
      ? f.lost === 'zone'
      : drill === 'database_primary'
        ? replicated(f.component)
        : f.lost === 'instance'
  )
  const base = { id: `drill_${drill}`, ...titleOf(`drill_${drill}`, r) }
  // A zone drill needs every tier spread over two zones or more (a replicated tier may instead
  // keep a replica, assumed placed in another zone): a tier with no zone is never lost in one.
  if (drill === 'zone') {
    const unspread = design.components.filter(
      (c) =>
        !hasTrait(catalogue, c.type, 'source') &&
        !hasTrait(catalogue, c.type, 'thirdParty') &&
        !c.delay &&
        !(hasTrait(catalogue, c.type, 'replicated') && (c.replicas ?? 0) > 0) &&
        new Set(c.zones ?? []).size < 2
    )
    if (unspread.length > 0)
      return {
        ...base,
        passed: false,
        measured: null,
        detail: `not spread over two zones or more: ${unspread.map((c) => c.id).join(', ')} (losing its zone is an outage)`
      }
  }
  // An exercise with this drill stores its data in a database: a design without one has no
  // primary to lose, and is not let off the drill for it.
  if (drill === 'database_primary' && scenarios.length === 0)
    return {
      ...base,
      passed: false,
      applies: false,
      measured: null,
      detail:
        'the design has no database on a request’s path, so there is no primary to lose; this exercise keeps its data in one: add it'
    }
  const failing = scenarios.filter((f) => !f.sloHolds)
  const outage = failing.find((f) => f.outage || !finite(f.p95))
  const worst = scenarios.reduce<number | null>(
    (max, f) => (outage || !finite(f.p95) ? null : Math.max(max ?? 0, f.p95)),
    scenarios.length > 0 ? 0 : null
  )
  const name = (f: (typeof scenarios)[number]) =>
    f.lost === 'zone' ? `zone ${f.component.slice(5)}` : `${f.component}'s ${f.lost}`
  return {
    ...base,
    passed: failing.length === 0,
    measured: outage ? null : worst,
    detail:
      failing.length === 0
        ? `the SLO holds in all ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} (worst p95 ${ms(worst ?? 0)})`
        : `the SLO fails when ${failing
            .map((f) =>
              f.outage || !finite(f.p95)
                ? `${name(f)} is lost (an outage for ${pct(f.errorRate)} of requests)`
                : `${name(f)} is lost (p95 ${ms(f.p95)}${f.errorRate > 0 ? `, ${pct(f.errorRate)} fail` : ''})`
            )
            .join('; ')}`
  }
}

/** Measures a design from scratch: valid or not, simulated and analysed at the required peak. */
export function measureDesign(
  r: Requirements,
  design: DesignDocument,
  seed = 1,
  catalogue: Catalogue = CATALOGUE,
  cache: EngineCache = createEngineCache()
): Check[] {
  const problems = validateDesign(design as Design, catalogue)
  if (problems.length > 0) return unmeasurable(r, `the design cannot be simulated: ${problems[0].message}`)
  const traffic = trafficOf(r)
  // Fewer paths than a run's 20,000: the validation runs at every process start.
  const result = simulate(design as Design, traffic, { seed, samples: 4000, catalogue, cache })
  const analysis = analyze(design as Design, traffic, result, seed, catalogue, cache)
  return measureChecks(r, design as Design, { ...result, analysis }, catalogue, cache)
}

/** The design every exercise must refuse: one client and one service, the catalogue's defaults, one instance. */
export function singleService(catalogue: Catalogue = CATALOGUE): DesignDocument {
  const d = catalogue.service?.defaults ?? {}
  return {
    components: [
      { id: 'users', type: 'client' },
      {
        id: 'app',
        type: 'service',
        instances: 1,
        concurrency: d.concurrency ?? 8,
        serviceTimeMs: d.serviceTimeMs ?? 20
      }
    ],
    links: [{ from: 'users', to: 'app' }]
  }
}

const scaled = (design: DesignDocument, f: (c: DesignDocument['components'][number]) => object): DesignDocument => ({
  ...design,
  components: design.components.map((c) => (c.type === 'client' ? c : { ...c, ...f(c) }))
})

/**
 * Why an exercise must not load (empty: it may): its reference fails a check, or a design that
 * must fail passes — an empty board, a single service, the reference with every instance count
 * ×10 (the budget), the reference without its redundancy (a failure drill).
 */
export function validateExercise(e: ExerciseDefinition, catalogue: Catalogue = CATALOGUE): string[] {
  const r = e.requirements
  const problems: string[] = []
  const cache = createEngineCache()
  const failed = (checks: Check[]) => checks.filter((c) => !c.passed)
  const reference = measureDesign(r, e.reference.design, 1, catalogue, cache)
  for (const c of failed(reference)) problems.push(`its reference fails "${c.title}": ${c.detail}`)
  if (failed(measureDesign(r, { components: [], links: [] }, 1, catalogue, cache)).length === 0)
    problems.push('an empty board passes every check')
  if (failed(measureDesign(r, singleService(catalogue), 1, catalogue, cache)).length === 0)
    problems.push('a single service passes every check')
  // ×10 only needs the cost: the budget check reads designCost, as here.
  const tenfold = scaled(e.reference.design, (c) => ({ instances: Math.min(1000, (c.instances ?? 1) * 10) }))
  if (designCost(tenfold as Design, trafficOf(r), catalogue).perMonth <= r.budgetPerMonth)
    problems.push('its reference with every instance count ×10 stays within the budget')
  const bare = scaled(e.reference.design, (c) => ({ instances: 1, ...('replicas' in c ? { replicas: 0 } : {}) }))
  const drills = measureDesign(r, bare, 1, catalogue, cache).filter((c) => c.id.startsWith('drill_'))
  if (drills.every((c) => c.passed))
    problems.push('its reference without redundancy (every instances 1, replicas 0) passes every failure drill')
  return problems
}
