import { type Analysis, analyze, HEADROOM } from './analysis.ts'
import { CATALOGUE, type Catalogue, hasTrait } from './components.ts'
import { propagate, type SimulationResult } from './engine.ts'
import { availabilityPct, latencyText, ms, rps } from './format.ts'
import type { Grade, GradeItem } from './grade-schemas.ts'
import { groupSentence } from './groups.ts'
import type { Design, TrafficProfile } from './model.ts'

// The rubric: each item earns partial credit on a stated scale and explains its
// number, from the run's figures and its analysis (what breaks first, failures, availability).
// docs/simulation.md lists the items, weights and scales; RUBRIC_VERSION changes with them.

export const RUBRIC_VERSION = 3

export type { Grade, GradeItem } from './grade-schemas.ts'

const READ_HEAVY = 0.7
/** The availability a design is held to unless its traffic profile sets one (three nines). */
export const AVAILABILITY_TARGET = 0.999
/** A station whose mean wait exceeds this share of its service time is running hot. */
const WAIT_RATIO = 0.25

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`
const clamp01 = (x: number) => Math.min(1, Math.max(0, x))

/** Where requests are lost: saturated components, finite queues turning arrivals away, timeouts. */
function lossOf(result: SimulationResult): string {
  const losing = result.components.filter((c) => c.saturated || (c.lossRate ?? 0) > 0)
  const timingOut = (result.links ?? []).filter((l) => l.failedShare > 0)
  if (losing.length === 0 && timingOut.length === 0) return `${result.overall.bottleneck} saturates`
  return [
    ...losing.map((c) =>
      c.saturated
        ? `${c.id} saturates`
        : `${c.id} turns away ${pct(c.lossRate ?? 0)} of its arrivals when its queue is full`
    ),
    ...timingOut.map(
      (l) =>
        `${pct(l.timeoutShare)} of attempts from ${l.from} to ${l.to} time out and ${pct(l.failedShare)} fail after their retries (${l.retryAmplification}× the load below)`
    )
  ].join('; ')
}

/** Queues whose consumers do not keep up: the backlog grows and the lag with it. */
function backlogs(result: SimulationResult): string {
  return result.components
    .filter((c) => (c.backlog?.growthPerSecond ?? 0) > 0)
    .map(
      (c) =>
        ` The consumers of ${c.id} cannot keep up: its backlog grows by ${c.backlog?.growthPerSecond} messages a second and the lag without bound.`
    )
    .join('')
}

/** Scores a completed simulation against the rubric (0–100); every item explains its number. */
export function grade(
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult & { analysis?: Analysis },
  catalogue: Catalogue = CATALOGUE
): Grade {
  // Runs stored before the analysis existed are analysed now.
  const analysis = result.analysis ?? analyze(design, traffic, result, 1, catalogue)
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const items: GradeItem[] = []
  const item = (i: Omit<GradeItem, 'passed'>) =>
    items.push({ ...i, points: Math.round(i.points), passed: Math.round(i.points) === i.maxPoints })
  const o = result.overall
  const slo = traffic.latencySloMs
  const sized = new Map(analysis.suggestions.map((s) => [s.component, s]))
  const grown = analysis.suggestions.filter((s) => s.suggested > s.instances)

  // 1. The SLO at peak, by its margin: p95 full marks at 0.8 × SLO or better, none past 1.2 × SLO;
  // p99 full marks within 2 × SLO, none past 3 × SLO.
  // An unbounded figure (null: the requests cross a saturated station) earns nothing.
  const growth = o.overload?.queueGrowthRps ?? 0
  const p95Score = o.p95 === null ? 0 : clamp01((1.2 * slo - o.p95) / (0.4 * slo))
  const p99Score = o.p99 === null ? 0 : clamp01((3 * slo - o.p99) / slo)
  const meanOf = (c: { meanLatencyMs: number | null }) => c.meanLatencyMs ?? Number.POSITIVE_INFINITY
  const slow = [...result.components].sort((a, b) => meanOf(b) - meanOf(a))[0]
  item({
    id: 'latency_slo',
    title: 'Latency SLO met at peak, with margin',
    maxPoints: 25,
    points: 20 * p95Score + 5 * p99Score,
    finding: `p95 is ${latencyText(o.p95, growth)} and p99 ${latencyText(o.p99, growth)} against an SLO of ${slo} ms: ${Math.round(20 * p95Score)}/20 for the p95 (full marks at ${0.8 * slo} ms or less, none past ${1.2 * slo} ms) and ${Math.round(5 * p99Score)}/5 for the p99 (full within ${2 * slo} ms).`,
    suggestion:
      p95Score === 1 && p99Score === 1
        ? 'Keep the SLO in view as the design grows: re-run the simulation after each change.'
        : analysis.sized?.sloHolds && grown.length > 0
          ? `Size it as suggested (${grown.map((s) => `${s.component} to ${s.suggested}`).join(', ')}): the p95 at peak is then ${latencyText(analysis.sized.p95, growth)}.`
          : `The slowest stop is ${slow?.id ?? 'unknown'} (${slow ? latencyText(slow.meanLatencyMs, slow.overload?.queueGrowthRps ?? growth) : 'no'} mean): cut its service time or put a cache in front of it${analysis.sized && !analysis.sized.sloHolds ? ` — instances alone do not help (${latencyText(analysis.sized.p95, growth)} at peak with every suggested size)` : ', or add instances to shorten its queue'}.`,
    components: p95Score === 1 && p99Score === 1 ? [] : slow ? [slow.id] : []
  })

  // 2. Headroom judged by what it does to waiting: a station is hot when its mean wait passes a
  // quarter of its service time, so a large pool at 85 % whose wait is negligible is not.
  const waits = result.components
    .filter((c) => !hasTrait(catalogue, c.type, 'source') && c.arrivalRps > 0)
    .map((c) => {
      const service = byId.get(c.id)?.serviceTimeMs ?? 0
      return {
        c,
        ratio: c.saturated ? Number.POSITIVE_INFINITY : service > 0 ? (meanOf(c) - service) / service : 0
      }
    })
  const hot = waits.filter((w) => w.ratio > WAIT_RATIO)
  const worst = hot.reduce((max, w) => Math.max(max, w.ratio), 0)
  const headroomPoints = hot.length === 0 ? 20 : worst <= 1 ? 10 : 0
  item({
    id: 'capacity_headroom',
    title: 'Capacity headroom at peak (waiting stays short)',
    maxPoints: 20,
    points: headroomPoints,
    finding:
      hot.length === 0
        ? `Every station's mean wait stays under ${WAIT_RATIO * 100}% of its service time (the busiest is ${o.bottleneck ? groupSentence(design, traffic, o.bottleneck, catalogue) : 'none'}); the design sustains up to ${rps(o.maxSustainableRps)}.`
        : `Waiting longer than ${WAIT_RATIO * 100}% of their service time: ${hot
            .map((w) =>
              Number.isFinite(w.ratio)
                ? `${w.c.id} at ${pct(w.c.utilization)} (waits ${Math.round(w.ratio * 100)}% of its service)`
                : `${w.c.id} (saturated)`
            )
            .join(
              ', '
            )}: ${headroomPoints}/20 (10 while no wait passes the service time).${o.bottleneck ? ` The bottleneck: ${groupSentence(design, traffic, o.bottleneck, catalogue)}.` : ''}${backlogs(result)}`,
    suggestion:
      hot.length === 0
        ? `Peak traffic can grow ${Math.round((o.maxSustainableRps / traffic.peakRps) * 10) / 10}× before the first component saturates.`
        : `Bring each under ${pct(HEADROOM)}: ${hot
            .map((w) => {
              const s = sized.get(w.c.id)
              return s
                ? `${w.c.id} to ${s.suggested} instances (now ${s.instances}, ${s.costDeltaPerMonth >= 0 ? '+' : ''}$${s.costDeltaPerMonth} a month)`
                : `${w.c.id}: more capacity (instances, concurrency or a faster service)`
            })
            .join(', ')}.`,
    components: hot.length > 0 ? hot.map((w) => w.c.id) : o.bottleneck ? [o.bottleneck] : []
  })

  // 3. Losing one instance of any component: the share of failure scenarios the SLO survives.
  const scenarios = analysis.failures
  const holding = scenarios.filter((f) => f.sloHolds)
  const failing = scenarios.filter((f) => !f.sloHolds)
  const instanceLosses = failing.filter((f) => f.lost !== 'zone')
  const zoneLosses = failing.filter((f) => f.lost === 'zone')
  item({
    id: 'survives_instance_loss',
    title: 'Survives losing one instance (or a zone)',
    maxPoints: 20,
    points: scenarios.length === 0 ? 20 : (20 * holding.length) / scenarios.length,
    finding:
      failing.length === 0
        ? `The SLO holds in all ${scenarios.length} failure scenarios (one instance, or a database primary, lost).`
        : `The SLO holds in ${holding.length} of ${scenarios.length} scenarios; it does not when ${failing
            .map((f) =>
              f.lost === 'zone'
                ? `${f.component.slice(5)} (a zone) is lost (${f.outage ? 'a component has no instance left; ' : ''}errors ${pct(f.errorRate)})`
                : f.outage
                  ? `${f.component}'s only instance is lost (an outage for ${pct(f.errorRate)} of requests)`
                  : `${f.component} loses ${f.lost === 'primary' ? 'its primary' : 'an instance'} (p95 ${ms(f.p95)}, errors ${pct(f.errorRate)})`
            )
            .join('; ')}.`,
    suggestion:
      failing.length === 0
        ? 'Check that the copies run in different failure domains (zones).'
        : [
            instanceLosses.length > 0
              ? `Give ${instanceLosses.map((f) => f.component).join(', ')} a second instance (or a database a replica) with room to carry the load alone: ${instanceLosses
                  .map((f) => {
                    const s = sized.get(f.component)
                    return s ? `${f.component} to ${s.suggested}` : f.component
                  })
                  .join(', ')}.`
              : '',
            zoneLosses.length > 0
              ? `Spread every tier over more than one zone, with room in the others: ${zoneLosses.map((f) => f.component.slice(5)).join(', ')} cannot be lost now.`
              : ''
          ]
            .filter(Boolean)
            .join(' '),
    components: instanceLosses.map((f) => f.component)
  })

  // 4. Availability against the profile's target (three nines unless it sets one), scored by nines.
  const target = traffic.availabilityTarget ?? AVAILABILITY_TARGET
  const targetNines = -Math.log10(1 - target)
  const availabilityScore = clamp01(analysis.availability.nines / targetNines)
  item({
    id: 'availability',
    title: `Availability of at least ${availabilityPct(target)}`,
    maxPoints: 10,
    points: 10 * availabilityScore,
    finding: `The design is up ${availabilityPct(analysis.availability.fraction)} of the time (${analysis.availability.nines} nines, about ${analysis.availability.downtimeMinutesPerMonth} minutes down a month) against a target of ${availabilityPct(target)} (${Math.round(targetNines * 100) / 100} nines, ${Math.round((1 - target) * 30 * 24 * 60 * 100) / 100} minutes a month).`,
    suggestion:
      availabilityScore === 1
        ? 'Availability multiplies along a request’s path: keep each tier redundant as you add tiers.'
        : 'Run a second instance of each single-instance component on the request path: two 99.9 % copies in parallel are 99.9999 %.',
    components: availabilityScore === 1 ? [] : o.singlePointsOfFailure
  })

  // 5. A cache credited for the reads it absorbs: half the reads or more is full marks.
  const caches = result.components.filter((c) => hasTrait(catalogue, c.type, 'absorbsReads') && c.arrivalRps > 0)
  const reads = traffic.peakRps * traffic.readRatio
  // Only reads hit a cache: its read arrivals times its hit ratio.
  const flows = propagate(design, traffic, undefined, undefined, catalogue)
  const absorbed = caches.reduce((sum, c) => sum + (flows.get(c.id)?.read ?? 0) * (byId.get(c.id)?.hitRatio ?? 0), 0)
  const absorbedShare = reads > 0 ? Math.min(1, absorbed / reads) : 0
  const readHeavy = traffic.readRatio >= READ_HEAVY
  item({
    id: 'cache_for_reads',
    title: 'A cache that absorbs read-heavy traffic',
    maxPoints: 10,
    points: readHeavy ? 10 * clamp01(absorbedShare / 0.5) : 10,
    finding: readHeavy
      ? caches.length > 0
        ? `Reads are ${pct(traffic.readRatio)} of traffic; ${caches.map((c) => c.id).join(', ')} answer${caches.length === 1 ? 's' : ''} ${pct(absorbedShare)} of them (full marks from 50%).`
        : `Reads are ${pct(traffic.readRatio)} of traffic and no cache or CDN is on their path.`
      : `Reads are ${pct(traffic.readRatio)} of traffic; a cache is optional.`,
    suggestion:
      readHeavy && absorbedShare < 0.5
        ? caches.length > 0
          ? `Raise the hit ratio of ${caches.map((c) => c.id).join(', ')} (cache what is read most, longer TTLs) or cache closer to the reads.`
          : 'Add a cache between the service and the database for reads (a hit ratio of 0.8 is a common start).'
        : 'Watch the hit ratio: a cold cache sends its misses to the database all at once.',
    components: caches.map((c) => c.id)
  })

  // 6. Database redundancy, as the failover scenario confirms it.
  const databases = design.components.filter((c) => hasTrait(catalogue, c.type, 'replicated'))
  const dbScores = databases.map((d) => {
    const scenario = scenarios.find((f) => f.component === d.id)
    const redundant = (d.replicas ?? 0) > 0 || d.instances > 1
    return { d, score: !redundant ? 0 : !scenario || scenario.sloHolds ? 1 : 0.6, scenario }
  })
  const dbScore = dbScores.length === 0 ? 1 : Math.min(...dbScores.map((s) => s.score))
  const weakest = dbScores.filter((s) => s.score < 1)
  item({
    id: 'database_redundancy',
    title: 'Database redundancy that survives a failover',
    maxPoints: 5,
    points: 5 * dbScore,
    finding:
      databases.length === 0
        ? 'The design has no database.'
        : weakest.length === 0
          ? 'Every database has a replica or a second instance, and losing its primary keeps the SLO.'
          : weakest
              .map((s) =>
                s.score === 0
                  ? `${s.d.id} has no replica: losing it is an outage.`
                  : `${s.d.id} fails over, but the SLO is missed afterwards (p95 ${s.scenario ? ms(s.scenario.p95) : '–'}).`
              )
              .join(' '),
    suggestion:
      weakest.length === 0
        ? 'Test failover: promote a replica in a drill and time it.'
        : `Add a read replica to ${weakest.map((s) => s.d.id).join(', ')} (or size the remaining copies to carry the reads alone).`,
    components: (weakest.length > 0 ? weakest.map((s) => s.d) : databases).map((d) => d.id)
  })

  // 7. No errors at peak: 1 % of requests lost or more scores nothing.
  const losing = result.components.filter((c) => c.saturated || (c.lossRate ?? 0) > 0).map((c) => c.id)
  item({
    id: 'zero_errors',
    title: 'No errors at peak',
    maxPoints: 10,
    points: 10 * clamp01(1 - o.errorRate / 0.01),
    finding:
      o.errorRate === 0
        ? 'No request was shed at peak.'
        : `${pct(o.errorRate)} of requests are lost at peak (none scores at 1%): ${lossOf(result)}.`,
    suggestion:
      o.errorRate === 0
        ? `Peak is ${traffic.peakRps} rps against a ceiling of ${rps(o.maxSustainableRps)}.`
        : `Raise the capacity of ${o.bottleneck} above ${traffic.peakRps} rps (or lengthen a full queue's queueLimit, or loosen a timeout), or take load off it with a cache or an asynchronous queue.`,
    components: [...losing, ...(result.links ?? []).filter((l) => l.failedShare > 0).map((l) => l.to)]
  })

  // 8. With a budget: the month's cost against it, full within it, none at 1.5 × it.
  const budget = traffic.budgetPerMonth
  if (typeof budget === 'number') {
    const cost = analysis.cost.perMonth
    const over = budget > 0 ? (cost - budget) / budget : cost > 0 ? Number.POSITIVE_INFINITY : 0
    const cheaper = analysis.suggestions.filter((s) => s.costDeltaPerMonth < 0)
    item({
      id: 'cost_within_budget',
      title: 'Cost within the budget',
      maxPoints: 10,
      points: 10 * clamp01(1 - over / 0.5),
      finding: `The design costs $${cost} a month against a budget of $${budget}${cost <= budget ? '' : ` (${Math.round(over * 100)}% over; none scores at 50% over)`}; $${analysis.cost.perMillionRequests} per million requests at peak.`,
      suggestion:
        cost <= budget
          ? 'Re-check the cost as the design grows: each instance is a monthly line on the bill.'
          : cheaper.length > 0
            ? `Right-size the over-provisioned: ${cheaper.map((s) => `${s.component} to ${s.suggested} (${s.costDeltaPerMonth} $ a month)`).join(', ')}.`
            : 'Trade instances for a cache (fewer requests reach the expensive tiers), or raise the budget.',
      components: [...analysis.cost.byComponent]
        .sort((a, b) => b.perMonth - a.perMonth)
        .slice(0, 2)
        .map((c) => c.component)
    })
  }

  // Out of 100 whatever the items: a budget's item adds to the maximum, not to the score's scale.
  const max = items.reduce((sum, i) => sum + i.maxPoints, 0)
  return { score: Math.round((100 * items.reduce((sum, i) => sum + i.points, 0)) / max), items }
}
