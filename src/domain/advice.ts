// Advice that was tried (issue 38): each failing item of a grade gets candidate changes as design
// patches; each is applied, the design simulated and analysed at the run's seed and graded again,
// and a suggestion is shown only when it helps: its item gains points, the total does not fall and
// no acceptance check that passed fails. Its text is made from its patch (src/domain/patch.ts).
import { type Analysis, availabilityOf, HEADROOM, requiredInstances, simulateAndAnalyze } from './analysis.ts'
import { CATALOGUE, type Catalogue, hasTrait, kindOf } from './components.ts'
import { createEngineCache, type EngineCache, propagate, type SimulationResult } from './engine.ts'
import type { Requirements } from './exercise-schemas.ts'
import { type AnalyzedResult, measureChecks } from './exercises.ts'
import { ms } from './format.ts'
import type { DesignPatch, Effect, Grade, GradeItem, PatchOp } from './grade-schemas.ts'
import { grade } from './grading.ts'
import { groupOf } from './groups.ts'
import { type Component, type Design, LIMITS, routingOf, type TrafficProfile } from './model.ts'
import { applyPatch, describePatch } from './patch.ts'
import type { Check } from './schemas.ts'
import { validateDesign } from './validate.ts'

export interface AdviceOptions {
  /** The run's seed: a patched design is simulated with it, so the only difference is the patch. */
  seed: number
  catalogue?: Catalogue
  /** An attempt's requirements: a suggestion may not fail one of its checks that passed. */
  requirements?: Requirements
  /** Step budget of each re-run (default LIMITS.engineSteps). */
  maxSteps?: number
  /** Designs simulated at most for one grade's advice (default MAX_TRIES). */
  maxTries?: number
}

/** Candidate designs simulated at most per grade: the advice's cost stays a bounded multiple of a run's. */
export const MAX_TRIES = 16
/** Candidates tried at most per item. */
const PER_ITEM = 3

/** What the model says of a design: its run, its grade, its checks. */
export interface Outcome {
  design: Design
  result: AnalyzedResult
  grade: Grade
  checks: Check[]
}

/** Simulates, analyses and grades a design as a run does (the advice's re-runs, and its tests'). */
export function outcomeOf(
  design: Design,
  traffic: TrafficProfile,
  options: AdviceOptions,
  cache: EngineCache = createEngineCache()
): Outcome {
  const catalogue = options.catalogue ?? CATALOGUE
  const result = simulateAndAnalyze(design, traffic, options.seed, options.maxSteps, catalogue, cache)
  const checks = options.requirements ? measureChecks(options.requirements, design, result, catalogue, cache) : []
  return { design, result, grade: grade(design, traffic, result, catalogue), checks }
}

/** The rule a suggestion is held to: its item improves, the total does not fall, no passed check fails. */
export function helps(before: Outcome, after: Outcome, itemId: string): boolean {
  const points = (o: Outcome) => o.grade.items.find((i) => i.id === itemId)?.points ?? 0
  const passed = new Set(before.checks.filter((c) => c.passed).map((c) => c.id))
  return (
    points(after) > points(before) &&
    after.grade.score >= before.grade.score &&
    after.checks.every((c) => c.passed || !passed.has(c.id))
  )
}

export function effectOf(before: Outcome, after: Outcome, itemId: string): Effect {
  const points = (o: Outcome) => o.grade.items.find((i) => i.id === itemId)?.points ?? null
  const passed = new Set(before.checks.filter((c) => c.passed).map((c) => c.id))
  return {
    item: { before: points(before), after: points(after) },
    score: { before: before.grade.score, after: after.grade.score },
    p95Ms: { before: before.result.overall.p95, after: after.result.overall.p95 },
    errorRate: { before: before.result.overall.errorRate, after: after.result.overall.errorRate },
    costPerMonth: { before: before.result.analysis.cost.perMonth, after: after.result.analysis.cost.perMonth },
    checksKept: after.checks.every((c) => c.passed || !passed.has(c.id))
  }
}

/** The effect in words: "this item 10 → 20 of 20, the score 62 → 71, p95 420 ms → 180 ms". */
export function effectSentence(e: Effect, maxPoints: number): string {
  const parts = [
    `this item ${e.item.before} → ${e.item.after} of ${maxPoints}`,
    `the score ${e.score.before} → ${e.score.after}`
  ]
  const p95 = (x: number | null) => (x === null ? 'unbounded' : ms(x))
  if (e.p95Ms.before !== e.p95Ms.after) parts.push(`p95 ${p95(e.p95Ms.before)} → ${p95(e.p95Ms.after)}`)
  if (e.errorRate.before !== e.errorRate.after)
    parts.push(`errors ${pct(e.errorRate.before ?? 0)} → ${pct(e.errorRate.after ?? 0)}`)
  if (e.costPerMonth.before !== e.costPerMonth.after)
    parts.push(`$${e.costPerMonth.before} → $${e.costPerMonth.after} a month`)
  return parts.join(', ')
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`

/**
 * The grade with its advice: every item that is not at full marks gets the candidate that helps
 * most (its patch, its effect, and a suggestion made from both), or says that nothing tried helped.
 */
export function advise(
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult & { analysis: Analysis },
  options: AdviceOptions
): Grade & { checks: Check[] } {
  const catalogue = options.catalogue ?? CATALOGUE
  const cache = createEngineCache()
  const base: Outcome = {
    design,
    result,
    grade: grade(design, traffic, result, catalogue),
    checks: options.requirements ? measureChecks(options.requirements, design, result, catalogue, cache) : []
  }
  const tried = new Map<string, Outcome | null>()
  // A large design's re-runs cost more each: fewer of them (at least 4), so a grade stays a bounded multiple of a run.
  let budget = options.maxTries ?? Math.max(4, Math.min(MAX_TRIES, Math.floor(400 / design.components.length)))
  const tryPatch = (patch: DesignPatch): Outcome | null => {
    const key = JSON.stringify(patch)
    if (tried.has(key)) return tried.get(key) ?? null
    if (budget <= 0) return null
    budget--
    let outcome: Outcome | null = null
    try {
      const patched = applyPatch(design, patch)
      if (validateDesign(patched, catalogue).length === 0) outcome = outcomeOf(patched, traffic, options, cache)
    } catch {
      // A patch that does not fit, or a design past the step budget: not advice.
      outcome = null
    }
    tried.set(key, outcome)
    return outcome
  }
  const ctx = context(design, traffic, result, catalogue)
  const items = base.grade.items.map((item): GradeItem => {
    if (item.passed) return item
    const candidates = dedupe(candidatesFor(item, ctx)).slice(0, PER_ITEM)
    let best: { patch: DesignPatch; outcome: Outcome } | null = null
    for (const patch of candidates) {
      const outcome = tryPatch(patch)
      if (!outcome || !helps(base, outcome, item.id)) continue
      if (!best || better(outcome, best.outcome, item.id)) best = { patch, outcome }
    }
    if (!best) {
      const what = candidates.map((p) => describePatch(design, p).toLowerCase())
      return {
        ...item,
        suggestion:
          what.length > 0
            ? `No single change the model tried raises this item without costing elsewhere (tried: ${what.join('; ')}). ${hintFor(item.id)}`
            : `No change the model can try here raises this item. ${hintFor(item.id)}`
      }
    }
    const effect = effectOf(base, best.outcome, item.id)
    return {
      ...item,
      suggestion: `${describePatch(design, best.patch)}: ${effectSentence(effect, item.maxPoints)}.`,
      patch: best.patch,
      effect
    }
  })
  return { score: base.grade.score, items, checks: base.checks }
}

const better = (a: Outcome, b: Outcome, itemId: string) => {
  const p = (o: Outcome) => o.grade.items.find((i) => i.id === itemId)?.points ?? 0
  const cost = (o: Outcome) => o.result.analysis.cost.perMonth
  if (p(a) !== p(b)) return p(a) > p(b)
  if (a.grade.score !== b.grade.score) return a.grade.score > b.grade.score
  return cost(a) < cost(b)
}

const dedupe = (patches: DesignPatch[]) => {
  const seen = new Set<string>()
  return patches.filter((p) => {
    const key = JSON.stringify(p)
    if (p.length === 0 || seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** What a learner can consider when no single change helps: a direction, not a claim. */
function hintFor(itemId: string): string {
  const hints: Record<string, string> = {
    latency_slo: 'A p95 set by service times needs faster services or fewer calls on the path, not more instances.',
    capacity_headroom: 'Consider faster services or taking load off the busiest stations.',
    survives_instance_loss: 'Consider spreading copies over zones with room to carry the load.',
    availability: 'Consider fewer serial tiers, or more redundant copies of each.',
    cache_for_reads: 'Consider where reads are repeated and could be answered earlier.',
    database_redundancy: 'Consider how the database is sized after a failover.',
    zero_errors: 'Consider where requests are lost: a full queue, a timeout, or a saturated station.',
    cost_within_budget: 'Consider which tiers are over-provisioned for the load.'
  }
  return hints[itemId] ?? ''
}

// ─── Candidates ────────────────────────────────────────────────────────────────────────────────

interface Context {
  design: Design
  traffic: TrafficProfile
  result: SimulationResult & { analysis: Analysis }
  catalogue: Catalogue
  byId: Map<string, Component>
  /** Offered arrivals (before anything sheds): reads and writes a second. */
  flows: Map<string, { read: number; write: number }>
}

function context(
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult & { analysis: Analysis },
  catalogue: Catalogue
): Context {
  return {
    design,
    traffic,
    result,
    catalogue,
    byId: new Map(design.components.map((c) => [c.id, c])),
    flows: propagate(design, traffic, undefined, undefined, catalogue)
  }
}

/** The identical siblings of a component (itself included). */
const siblings = (ctx: Context, id: string) => groupOf(ctx.design, ctx.flows, id)

/** Copies that can fail: a database's replicas beside its instances. */
const copies = (ctx: Context, c: Component) => c.instances + (isReplicated(ctx, c) ? (c.replicas ?? 0) : 0)

const isSource = (ctx: Context, c: Component) => hasTrait(ctx.catalogue, c.type, 'source')
const isReplicated = (ctx: Context, c: Component) => hasTrait(ctx.catalogue, c.type, 'replicated')

/** The ops that bring a component (and its identical siblings) to the headroom at its offered load. */
function sized(ctx: Context, id: string, options: { atLeastOneMore?: boolean } = {}): PatchOp[] {
  const c = ctx.byId.get(id)
  const flow = ctx.flows.get(id)
  if (!c || !flow || isSource(ctx, c) || c.delay) return []
  const ops: PatchOp[] = []
  if (isReplicated(ctx, c)) {
    // Reads spread over the primary and its replicas; writes stay on the primary.
    const capacity = c.instances * c.concurrency * (1000 / c.serviceTimeMs)
    const now = c.replicas ?? 0
    const primaryLoad = (r: number) => flow.write + flow.read / (1 + r)
    let replicas = now + (options.atLeastOneMore ? 1 : 0)
    while (replicas < LIMITS.replicas && primaryLoad(replicas) > HEADROOM * capacity && flow.read > 0) replicas++
    if (primaryLoad(replicas) <= HEADROOM * capacity || flow.read === 0) {
      if (replicas !== now) ops.push({ op: 'set', component: id, field: 'replicas', value: replicas })
    }
    if (primaryLoad(replicas) > HEADROOM * capacity) {
      // Writes alone fill the primary: more instances (each copy gets them).
      const need = requiredInstances(c, primaryLoad(replicas)).instances
      if (need > c.instances) ops.push({ op: 'set', component: id, field: 'instances', value: need })
    }
  } else {
    const need = requiredInstances(c, flow.read + flow.write).instances
    const value = Math.min(LIMITS.instances, Math.max(need, c.instances + (options.atLeastOneMore ? 1 : 0)))
    if (value !== c.instances) ops.push({ op: 'set', component: id, field: 'instances', value })
  }
  return ops
}

/** The same change for each identical sibling of a component. */
function forGroup(ctx: Context, id: string, make: (member: string) => PatchOp[]): PatchOp[] {
  return siblings(ctx, id).flatMap(make)
}

const sizedGroup = (ctx: Context, id: string, options: { atLeastOneMore?: boolean } = {}) =>
  forGroup(ctx, id, (m) => sized(ctx, m, options))

/** One more copy: a second instance, or for a database one more read replica. */
function oneMore(ctx: Context, id: string): PatchOp[] {
  const c = ctx.byId.get(id)
  if (!c || isSource(ctx, c)) return []
  if (isReplicated(ctx, c))
    return [{ op: 'set', component: id, field: 'replicas', value: Math.min(LIMITS.replicas, (c.replicas ?? 0) + 1) }]
  return [{ op: 'set', component: id, field: 'instances', value: Math.min(LIMITS.instances, c.instances + 1) }]
}

const unique = (ops: PatchOp[]): PatchOp[] => {
  const seen = new Map<string, PatchOp>()
  for (const op of ops) seen.set(op.op === 'set' ? `${op.component}.${op.field}` : JSON.stringify(op), op)
  return [...seen.values()]
}

const freeId = (ctx: Context, base: string) => {
  if (!ctx.byId.has(base)) return base
  for (let i = 2; ; i++) if (!ctx.byId.has(`${base}-${i}`)) return `${base}-${i}`
}

/**
 * A cache in front of a component's reads: each link that brings it reads (from a component that
 * calls, not splits) sends them to a new cache instead, whose misses go on; writes keep their link.
 */
function cacheInFront(ctx: Context, id: string): PatchOp[] {
  const cacheType = Object.keys(ctx.catalogue).find((t) => hasTrait(ctx.catalogue, t, 'absorbsReads') && t === 'cache')
  if (!cacheType || (ctx.flows.get(id)?.read ?? 0) <= 0) return []
  const incoming = ctx.design.links.filter((l) => {
    const from = ctx.byId.get(l.from)
    return (
      l.to === id &&
      (l.traffic ?? 'both') !== 'write' &&
      from !== undefined &&
      !isSource(ctx, from) &&
      !hasTrait(ctx.catalogue, from.type, 'absorbsReads') &&
      routingOf(from, ctx.catalogue) === 'calls'
    )
  })
  if (incoming.length === 0) return []
  const cacheId = freeId(ctx, 'cache')
  const defaults = kindOf(ctx.catalogue, cacheType)?.defaults ?? {}
  const ops: PatchOp[] = [
    {
      op: 'add_component',
      component: {
        id: cacheId,
        type: cacheType,
        instances: defaults.instances ?? 2,
        concurrency: defaults.concurrency ?? 50,
        serviceTimeMs: defaults.serviceTimeMs ?? 1,
        hitRatio: defaults.hitRatio ?? 0.8
      }
    }
  ]
  for (const l of incoming) {
    ops.push(
      (l.traffic ?? 'both') === 'both'
        ? { op: 'set_link_traffic', from: l.from, to: l.to, traffic: 'write' }
        : { op: 'remove_link', from: l.from, to: l.to },
      {
        op: 'add_link',
        link: { from: l.from, to: cacheId, traffic: 'read', ...(l.share === undefined ? {} : { share: l.share }) }
      }
    )
  }
  ops.push({ op: 'add_link', link: { from: cacheId, to: id, traffic: 'read' } })
  return ops
}

/** Whether reads reaching a component already pass a cache on a link into it. */
const cachedInFront = (ctx: Context, id: string) =>
  ctx.design.links.some((l) => {
    const from = ctx.byId.get(l.from)
    return l.to === id && from !== undefined && hasTrait(ctx.catalogue, from.type, 'absorbsReads')
  })

/** The busiest stations at peak, by offered utilisation: the bottleneck first. */
function busiest(ctx: Context): string[] {
  return [...ctx.result.components]
    .filter((c) => c.arrivalRps > 0 && !isSource(ctx, ctx.byId.get(c.id) as Component))
    .sort((a, b) => b.utilization - a.utilization)
    .map((c) => c.id)
}

function candidatesFor(item: GradeItem, ctx: Context): DesignPatch[] {
  const r = ctx.result
  const a = r.analysis
  const hot = busiest(ctx).filter((id) => (r.components.find((c) => c.id === id)?.utilization ?? 0) > HEADROOM)
  const everySized = unique([
    ...a.suggestions.filter((s) => s.suggested > s.instances).flatMap((s) => sizedGroup(ctx, s.component)),
    ...hot.flatMap((id) => sizedGroup(ctx, id))
  ])
  switch (item.id) {
    case 'latency_slo': {
      const slowest = [...r.components]
        .filter((c) => !isSource(ctx, ctx.byId.get(c.id) as Component))
        .sort((x, y) => (y.meanLatencyMs ?? Infinity) - (x.meanLatencyMs ?? Infinity))[0]?.id
      const out: DesignPatch[] = [everySized]
      if (slowest) {
        const c = ctx.byId.get(slowest) as Component
        if (isReplicated(ctx, c) && !cachedInFront(ctx, slowest)) out.push(cacheInFront(ctx, slowest))
        out.push(sizedGroup(ctx, slowest, { atLeastOneMore: true }))
      }
      return out
    }
    case 'capacity_headroom': {
      const waiting = (item.components ?? []).filter((id) => ctx.byId.has(id))
      return [
        unique(waiting.flatMap((id) => sizedGroup(ctx, id))),
        unique(waiting.flatMap((id) => sizedGroup(ctx, id, { atLeastOneMore: true }))),
        everySized
      ]
    }
    case 'survives_instance_loss': {
      const failing = a.failures.filter((f) => !f.sloHolds && f.lost !== 'zone').map((f) => f.component)
      return [
        everySized,
        unique(
          failing.flatMap((id) => {
            const c = ctx.byId.get(id)
            if (!c) return []
            const s = sized(ctx, id, { atLeastOneMore: true })
            return s.length > 0 ? forGroup(ctx, id, (m) => sized(ctx, m, { atLeastOneMore: true })) : oneMore(ctx, id)
          })
        ),
        unique([...everySized, ...failing.flatMap((id) => forGroup(ctx, id, (m) => oneMore(ctx, m)))])
      ]
    }
    case 'availability': {
      const single = r.overall.singlePointsOfFailure.filter((id) => ctx.byId.has(id))
      // Without a single point of failure: one more copy of the tiers most likely to be down.
      const weakest = ctx.design.components
        .filter((c) => !isSource(ctx, c) && !hasTrait(ctx.catalogue, c.type, 'thirdParty') && !c.delay)
        .filter((c) => (ctx.flows.get(c.id)?.read ?? 0) + (ctx.flows.get(c.id)?.write ?? 0) > 0)
        .map((c) => ({ id: c.id, down: (1 - availabilityOf(c, ctx.catalogue)) ** copies(ctx, c) }))
        .sort((x, y) => y.down - x.down)
        .map((x) => x.id)
      return [
        unique(single.flatMap((id) => oneMore(ctx, id))),
        unique(single.flatMap((id) => sized(ctx, id, { atLeastOneMore: true }))),
        unique(weakest.slice(0, 1).flatMap((id) => oneMore(ctx, id))),
        unique(weakest.slice(0, 2).flatMap((id) => oneMore(ctx, id)))
      ]
    }
    case 'cache_for_reads': {
      const caches = ctx.design.components.filter(
        (c) => hasTrait(ctx.catalogue, c.type, 'absorbsReads') && (ctx.flows.get(c.id)?.read ?? 0) > 0
      )
      if (caches.length > 0) {
        const raise = (to: number): PatchOp[] =>
          caches
            .filter((c) => (c.hitRatio ?? 0) < to)
            .map((c) => ({ op: 'set', component: c.id, field: 'hitRatio', value: to }))
        return [raise(0.8), raise(0.9)]
      }
      // No cache: one in front of the component most reads reach (a database first).
      const targets = ctx.design.components
        .filter((c) => !isSource(ctx, c) && (ctx.flows.get(c.id)?.read ?? 0) > 0)
        .sort(
          (x, y) =>
            Number(isReplicated(ctx, y)) - Number(isReplicated(ctx, x)) ||
            (ctx.flows.get(y.id)?.read ?? 0) - (ctx.flows.get(x.id)?.read ?? 0)
        )
      return targets.slice(0, 2).map((c) => cacheInFront(ctx, c.id))
    }
    case 'database_redundancy': {
      const weak = (item.components ?? []).map((id) => ctx.byId.get(id)).filter((c) => c !== undefined)
      return [
        unique(weak.flatMap((c) => oneMore(ctx, c.id))),
        unique(weak.flatMap((c) => sized(ctx, c.id, { atLeastOneMore: true }))),
        unique([...everySized, ...weak.flatMap((c) => sized(ctx, c.id, { atLeastOneMore: true }))])
      ]
    }
    case 'zero_errors': {
      const losing = r.components.filter((c) => c.saturated || (c.lossRate ?? 0) > 0).map((c) => c.id)
      const ids = losing.length > 0 ? losing : r.overall.bottleneck ? [r.overall.bottleneck] : []
      return [
        unique(ids.flatMap((id) => sizedGroup(ctx, id))),
        unique(ids.flatMap((id) => sizedGroup(ctx, id, { atLeastOneMore: true }))),
        everySized
      ]
    }
    case 'cost_within_budget': {
      const cheaper = a.suggestions.filter((s) => s.suggested < s.instances)
      return [
        cheaper.map((s): PatchOp => ({ op: 'set', component: s.component, field: 'instances', value: s.suggested }))
      ]
    }
    default:
      return []
  }
}
