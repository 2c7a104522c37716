import { DivergentDesignError } from '../flows.ts'
import type { TrafficProfile } from '../model.ts'
import { serviceDraw } from '../queueing.ts'
import { createWords, exponential, uniform } from '../random.ts'
import type { Confidence } from '../schemas.ts'
import { EngineBudgetError } from './budget.ts'
import type { Station } from './stations.ts'
import { interval, quantiles } from './statistics.ts'
import { samplePath, type Walker } from './walker.ts'

// The discrete-event mode: requests run through the stations' queues, event by event.

/**
 * Requests to run before recording: the queues need about 1 / (1 − ρ)² service times to forget
 * that they started empty (an M/M/1's relaxation time grows so), so 20 / (1 − ρ)² requests for
 * the busiest station, at least 100 and at most as many as the replication records.
 */
function warmupRequests(stations: Station[], recorded: number): number {
  const busiest = stations.reduce((max, s) => (s.kind === 'queue' ? Math.max(max, s.utilization) : max), 0)
  return Math.min(recorded, Math.max(100, Math.ceil(20 / (1 - Math.min(busiest, 0.999)) ** 2)))
}

/** End-to-end latencies from a seeded event-driven simulation of the same (stable) network. */
function discreteEventLatencies(
  walker: Walker,
  stations: Station[],
  traffic: TrafficProfile,
  word: () => number,
  requests: number,
  roundRobin: boolean,
  /** Requests at the start left out of the figures while the queues fill. */
  warmup: number
): { latencies: number[]; lost: number } {
  const rng = () => uniform(word)
  // Event heap ordered by time: [time, kind(0 arrival at station,1 departure), request, station].
  const heap: [number, number, number, number][] = []
  const push = (e: [number, number, number, number]) => {
    heap.push(e)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p][0] <= heap[i][0]) break
      ;[heap[p], heap[i]] = [heap[i], heap[p]]
      i = p
    }
  }
  const pop = () => {
    const top = heap[0]
    const last = heap.pop() as [number, number, number, number]
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i], heap[m]]
        i = m
      }
    }
    return top
  }
  // Each station's queues (one pooled, one per instance when balanced at random): the event's
  // last field is a queue, and queueStation maps it back.
  const queueBase = new Int32Array(stations.length)
  const queueStation: number[] = []
  for (const s of stations) {
    queueBase[s.index] = queueStation.length
    for (let q = 0; q < s.queues; q++) queueStation.push(s.index)
  }
  const turn = new Int32Array(stations.length)
  const busy = new Int32Array(queueStation.length)
  const waiting: number[][] = queueStation.map(() => [])
  const service = (station: Station) =>
    station.serviceTimeCv === 1
      ? exponential(rng, 1000 / station.serviceTimeMs) * 1000
      : serviceDraw(word, station.serviceTimeMs, station.serviceTimeCv)
  let lost = 0
  const paths: Int32Array[] = []
  const step = new Int32Array(requests)
  const born = new Float64Array(requests)
  const latencies: number[] = []
  let t = 0
  for (let r = 0; r < requests; r++) {
    t += exponential(rng, traffic.peakRps) * 1000
    // Draw first: a long path replaces walker.visits with a larger buffer.
    const length = samplePath(walker, word)
    paths.push(walker.visits.slice(0, length))
    born[r] = t
  }
  const advance = (r: number, now: number) => {
    const path = paths[r]
    if (step[r] >= path.length) {
      if (r >= warmup) latencies.push(now - born[r])
      return
    }
    const s = path[step[r]]
    const station = stations[s]
    const q = station.queues === 1 ? 0 : roundRobin ? turn[s]++ % station.queues : Math.floor(rng() * station.queues)
    push([now, 0, r, queueBase[s] + q])
  }
  for (let r = 0; r < requests; r++) advance(r, born[r])
  let events = 0
  while (heap.length > 0) {
    if (++events + walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
    const [now, kind, r, q] = pop()
    const station = stations[queueStation[q]]
    if (kind === 0) {
      if (busy[q] < station.servers / station.queues) {
        busy[q]++
        push([now + service(station), 1, r, q])
      } else if (station.queueLimit !== null && waiting[q].length >= station.queueLimit) {
        // A full queue loses the request: it goes no further.
        if (r >= warmup) lost++
      } else waiting[q].push(r)
    } else {
      const next = waiting[q].shift()
      if (next !== undefined) push([now + service(station), 1, next, q])
      else busy[q]--
      step[r]++
      advance(r, now)
    }
  }
  return { latencies, lost }
}

/**
 * The discrete-event mode's latencies and error rate, over independent replications (with the
 * 95 % intervals of their means and p95s when there are several).
 */
export function discreteEvent(
  walker: Walker,
  stations: Station[],
  traffic: TrafficProfile,
  seed: number,
  samples: number,
  options: { replications?: number; roundRobin?: boolean }
): { latencies: Float64Array; errorRate: number; confidence?: Confidence } {
  if (stations.some((s) => s.saturated)) {
    throw new DivergentDesignError('the discrete-event mode needs a stable design (every utilisation below 1)')
  }
  if (stations.some((s) => s.kind === 'timeout')) {
    throw new DivergentDesignError('the discrete-event mode does not model timeouts; the analytic mode does')
  }
  // Independent replications, each warmed up for as long as its busiest station needs; one
  // replication is the first engine's single run (its first tenth as warm-up), with no interval.
  walker.drawCertain = true
  const replications = Math.max(1, Math.floor(options.replications ?? 10))
  const per = Math.max(1, Math.floor(samples / replications))
  const warmup = replications === 1 ? Math.floor(samples * 0.1) : warmupRequests(stations, per)
  const pooled: number[] = []
  const means: number[] = []
  const p95s: number[] = []
  let lost = 0
  for (let r = 0; r < replications; r++) {
    const run = discreteEventLatencies(
      walker,
      stations,
      traffic,
      createWords(seed + r * 7919),
      replications === 1 ? samples : per + warmup,
      options.roundRobin ?? false,
      warmup
    )
    lost += run.lost
    for (const x of run.latencies) pooled.push(x)
    const values = Float64Array.from(run.latencies)
    means.push(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length))
    p95s.push(quantiles(values, [0.95])[0])
  }
  return {
    latencies: Float64Array.from(pooled),
    errorRate: lost / Math.max(1, lost + pooled.length),
    ...(replications > 1
      ? { confidence: { replications, warmupRequests: warmup, meanLatencyMs: interval(means), p95: interval(p95s) } }
      : {})
  }
}
