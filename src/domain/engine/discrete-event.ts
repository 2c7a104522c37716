import { DivergentDesignError } from '../flows.ts'
import type { TrafficProfile } from '../model.ts'
import { serviceDraw } from '../queueing.ts'
import { createWords, exponential, uniform } from '../random.ts'
import type { Confidence } from '../schemas.ts'
import { EngineBudgetError } from './budget.ts'
import type { Station } from './stations.ts'
import { interval, quantiles } from './statistics.ts'
import { BRANCH, BRANCH_END, FORK, JOIN, samplePath, type Walker } from './walker.ts'

/** One line of a request's work: its stations from `step` to `end`, and the fork it reports to (-1: none). */
interface Thread {
  request: number
  path: Int32Array
  step: number
  end: number
  parent: number
  /** Branches of its current fork still running. */
  pending: number
}

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

/**
 * The time between requests (s) at `rate` a second with the given CV: exponential at 1 (Poisson);
 * below it an Erlang of k = round(1/CV²) phases (a constant at 0); above it a two-phase
 * hyperexponential with balanced means (each phase carries half the mean time), which fits the
 * first two moments exactly.
 */
export function arrivalGaps(rng: () => number, rate: number, cv: number): () => number {
  if (cv === 1) return () => exponential(rng, rate)
  if (cv === 0) return () => 1 / rate
  if (cv < 1) {
    const k = Math.max(1, Math.round(1 / (cv * cv)))
    return () => {
      let sum = 0
      for (let i = 0; i < k; i++) sum += exponential(rng, k * rate)
      return sum
    }
  }
  const c2 = cv * cv
  const p = (1 + Math.sqrt((c2 - 1) / (c2 + 1))) / 2
  const fast = 2 * p * rate
  const slow = 2 * (1 - p) * rate
  return () => (rng() < p ? exponential(rng, fast) : exponential(rng, slow))
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
  const gap = arrivalGaps(rng, traffic.peakRps, traffic.arrivalCv ?? 1)
  let lost = 0
  /** Requests a full queue lost (one of their branches may still run: its end is not recorded). */
  const failed = new Set<number>()
  const born = new Float64Array(requests)
  const latencies: number[] = []
  // A request runs as threads: its path from the start, and one per branch of its parallel calls
  // (FORK … JOIN), each going through its stations in order; a fork goes on past its JOIN when
  // its last branch is done. Events carry a thread; `step` is where each thread is on its path.
  const threads: Thread[] = []
  let t = 0
  for (let r = 0; r < requests; r++) {
    t += gap() * 1000
    // Draw first: a long path replaces walker.visits with a larger buffer.
    const length = samplePath(walker, word)
    threads.push({ request: r, path: walker.visits.slice(0, length), step: 0, end: length, parent: -1, pending: 0 })
    born[r] = t
  }
  const advance = (k: number, now: number) => {
    const thread = threads[k]
    const { path } = thread
    while (thread.step < thread.end && path[thread.step] < 0) {
      // A FORK: a thread per branch; this one waits past the JOIN for them.
      let depth = 0
      let branches = 0
      let at = thread.step + 1
      for (; depth > 0 || path[at] !== JOIN; at++) {
        if (path[at] === FORK) depth++
        else if (path[at] === JOIN) depth--
        else if (depth === 0 && path[at] === BRANCH) {
          let close = at + 1
          for (let inner = 0; inner > 0 || path[close] !== BRANCH_END; close++) {
            if (path[close] === FORK) inner++
            else if (path[close] === JOIN) inner--
          }
          threads.push({ request: thread.request, path, step: at + 1, end: close, parent: k, pending: 0 })
          branches++
          at = close
        }
      }
      thread.step = at + 1
      if (branches === 0) continue
      thread.pending = branches
      for (let b = threads.length - branches; b < threads.length; b++) advance(b, now)
      return
    }
    if (thread.step >= thread.end) {
      if (thread.parent >= 0) {
        if (--threads[thread.parent].pending === 0) advance(thread.parent, now)
      } else if (thread.request >= warmup && !failed.has(thread.request)) latencies.push(now - born[thread.request])
      return
    }
    const s = path[thread.step]
    const station = stations[s]
    const q = station.queues === 1 ? 0 : roundRobin ? turn[s]++ % station.queues : Math.floor(rng() * station.queues)
    push([now, 0, k, queueBase[s] + q])
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
      } else if (
        station.queueLimit !== null &&
        waiting[q].length >= station.queueLimit + (q - queueBase[station.index] < station.queueLimitExtra ? 1 : 0)
      ) {
        // A full queue loses the request: it goes no further (a lost branch loses its request).
        const request = threads[r].request
        if (request >= warmup && !failed.has(request)) lost++
        failed.add(request)
      } else waiting[q].push(r)
    } else {
      const next = waiting[q].shift()
      if (next !== undefined) push([now + service(station), 1, next, q])
      else busy[q]--
      threads[r].step++
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
  // replication is a single run (its first tenth as warm-up), with no interval.
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
