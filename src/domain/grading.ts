import type { SimulationResult } from './engine.ts'
import type { Design, TrafficProfile } from './model.ts'

export interface GradeItem {
  id: string
  title: string
  maxPoints: number
  points: number
  passed: boolean
  finding: string
  suggestion: string
  /** The components the item is about (what the web app highlights); may be empty. */
  components: string[]
}

export interface Grade {
  score: number
  items: GradeItem[]
}

const HEADROOM = 0.7
const READ_HEAVY = 0.7

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`

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

/** Scores a completed simulation against the rubric (0–100); every item explains itself. */
export function grade(design: Design, traffic: TrafficProfile, result: SimulationResult): Grade {
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const items: GradeItem[] = []
  const item = (i: Omit<GradeItem, 'points'>) => items.push({ ...i, points: i.passed ? i.maxPoints : 0 })
  const losing = result.components.filter((c) => c.saturated || (c.lossRate ?? 0) > 0).map((c) => c.id)
  const o = result.overall

  const slow = [...result.components].sort((a, b) => b.meanLatencyMs - a.meanLatencyMs)[0]
  item({
    id: 'latency_slo',
    title: 'Latency SLO met at peak',
    maxPoints: 25,
    passed: o.errorRate === 0 && o.p95 <= traffic.latencySloMs,
    finding: `p95 latency is ${o.p95} ms against an SLO of ${traffic.latencySloMs} ms.`,
    suggestion:
      o.p95 <= traffic.latencySloMs
        ? 'Keep the SLO in view as the design grows: re-run the simulation after each change.'
        : `The slowest stop is ${slow?.id ?? 'unknown'} (${slow?.meanLatencyMs ?? 0} ms mean): cut its service time, add instances to shorten its queue, or put a cache in front of it.`,
    components: o.p95 <= traffic.latencySloMs ? [] : slow ? [slow.id] : []
  })

  const hot = result.components.filter((c) => c.utilization > HEADROOM)
  item({
    id: 'capacity_headroom',
    title: `Capacity headroom at peak (utilisation ≤ ${HEADROOM})`,
    maxPoints: 20,
    passed: hot.length === 0,
    finding:
      hot.length === 0
        ? `The busiest component, ${o.bottleneck ?? 'none'}, stays at or below ${pct(HEADROOM)}; the design sustains up to ${o.maxSustainableRps} rps.`
        : `Above ${pct(HEADROOM)}: ${hot.map((c) => `${c.id} at ${pct(c.utilization)}`).join(', ')}.${backlogs(result)}`,
    suggestion:
      hot.length === 0
        ? `Peak traffic can grow ${Math.round((o.maxSustainableRps / traffic.peakRps) * 10) / 10}× before the first component saturates.`
        : `Bring each under ${pct(HEADROOM)}: ${hot
            .map((c) => {
              const comp = byId.get(c.id)
              const needed = comp ? Math.ceil((comp.instances * c.utilization) / HEADROOM) : 0
              return `${c.id} to ${needed} instances (now ${comp?.instances})`
            })
            .join(', ')}.`,
    components: hot.length > 0 ? hot.map((c) => c.id) : o.bottleneck ? [o.bottleneck] : []
  })

  item({
    id: 'no_single_point_of_failure',
    title: 'No single point of failure on the request path',
    maxPoints: 20,
    passed: o.singlePointsOfFailure.length === 0,
    finding:
      o.singlePointsOfFailure.length === 0
        ? 'Every component that carries traffic has a second instance or replica.'
        : `One instance only: ${o.singlePointsOfFailure.join(', ')}.`,
    suggestion:
      o.singlePointsOfFailure.length === 0
        ? 'Check that the copies run in different failure domains (zones).'
        : `Run at least two instances of ${o.singlePointsOfFailure.join(', ')} (or add a replica to a database).`,
    components: [...o.singlePointsOfFailure]
  })

  const caches = result.components.filter((c) => (c.type === 'cache' || c.type === 'cdn') && c.arrivalRps > 0)
  const readHeavy = traffic.readRatio >= READ_HEAVY
  item({
    id: 'cache_for_reads',
    title: 'A cache for read-heavy traffic',
    maxPoints: 15,
    passed: !readHeavy || caches.length > 0,
    finding: readHeavy
      ? caches.length > 0
        ? `Reads are ${pct(traffic.readRatio)} of traffic and ${caches.map((c) => c.id).join(', ')} ${caches.length === 1 ? 'serves' : 'serve'} them.`
        : `Reads are ${pct(traffic.readRatio)} of traffic and no cache or CDN is on their path.`
      : `Reads are ${pct(traffic.readRatio)} of traffic; a cache is optional.`,
    suggestion:
      readHeavy && caches.length === 0
        ? 'Add a cache between the service and the database for reads (a hit ratio of 0.8 is a common start).'
        : 'Watch the hit ratio: a cold cache sends its misses to the database all at once.',
    components: caches.map((c) => c.id)
  })

  const databases = design.components.filter((c) => c.type === 'database')
  const single = databases.filter((d) => (d.replicas ?? 0) === 0 && d.instances < 2)
  item({
    id: 'database_redundancy',
    title: 'Database redundancy',
    maxPoints: 10,
    passed: single.length === 0,
    finding:
      databases.length === 0
        ? 'The design has no database.'
        : single.length === 0
          ? 'Every database has a replica or a second instance.'
          : `No replica: ${single.map((d) => d.id).join(', ')}.`,
    suggestion:
      single.length === 0
        ? 'Test failover: promote a replica in a drill and time it.'
        : `Add at least one read replica to ${single.map((d) => d.id).join(', ')}; it also takes read load off the primary.`,
    components: (single.length > 0 ? single : databases).map((d) => d.id)
  })

  item({
    id: 'zero_errors',
    title: 'No errors at peak',
    maxPoints: 10,
    passed: o.errorRate === 0,
    finding:
      o.errorRate === 0
        ? 'No request was shed at peak.'
        : `${pct(o.errorRate)} of requests are lost at peak: ${lossOf(result)}.`,
    suggestion:
      o.errorRate === 0
        ? `Peak is ${traffic.peakRps} rps against a ceiling of ${o.maxSustainableRps} rps.`
        : `Raise the capacity of ${o.bottleneck} above ${traffic.peakRps} rps (or lengthen a full queue's queueLimit), or take load off it with a cache or an asynchronous queue.`,
    components: [...losing, ...(result.links ?? []).filter((l) => l.failedShare > 0).map((l) => l.to)]
  })

  return { score: items.reduce((sum, i) => sum + i.points, 0), items }
}
