import type { Component, Design, TrafficClass, TrafficProfile } from './model.ts'
import { SATURATED_WAIT_MS, stationFigures } from './queueing.ts'
import { createRng, exponential } from './random.ts'

// The simulation engine: pure functions, no I/O. Same design, profile and seed → same result.

export interface Station {
  index: number
  componentId: string
  /** `primary` or `replica-N` for a database, otherwise the component id. */
  name: string
  servers: number
  serviceTimeMs: number
  lambda: number
  utilization: number
  saturated: boolean
  waitProbability: number
  meanSojournMs: number
  p95SojournMs: number
}

export interface ComponentResult {
  id: string
  type: Component['type']
  arrivalRps: number
  utilization: number
  meanLatencyMs: number
  p95LatencyMs: number
  saturated: boolean
}

export interface SimulationResult {
  mode: 'analytic' | 'discrete-event'
  seed: number
  samples: number
  components: ComponentResult[]
  overall: {
    p50: number
    p95: number
    p99: number
    meanLatencyMs: number
    throughputRps: number
    errorRate: number
    bottleneck: string | null
    maxSustainableRps: number
    singlePointsOfFailure: string[]
  }
}

export interface SimulateOptions {
  seed?: number
  /** Monte-Carlo paths (analytic mode) or simulated requests (discrete-event mode). */
  samples?: number
  mode?: 'analytic' | 'discrete-event'
}

export class DivergentDesignError extends Error {}

const MAX_HOPS = 64
const round = (x: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

interface Flow {
  read: number
  write: number
}

interface Network {
  byId: Map<string, Component>
  out: Map<string, { to: string; share: number; traffic: TrafficClass }[]>
  clients: Component[]
}

function network(design: Design): Network {
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const out = new Map<string, { to: string; share: number; traffic: TrafficClass }[]>()
  for (const c of design.components) out.set(c.id, [])
  for (const l of design.links) out.get(l.from)?.push({ to: l.to, share: l.share, traffic: l.traffic ?? 'both' })
  return { byId, out, clients: design.components.filter((c) => c.type === 'client') }
}

const carries = (traffic: TrafficClass, cls: 'read' | 'write') => traffic === 'both' || traffic === cls

/** The share of a class that a component passes on: caches and CDNs answer hits themselves. */
function passFactor(c: Component, cls: 'read' | 'write'): number {
  if (cls === 'read' && (c.type === 'cache' || c.type === 'cdn')) return 1 - (c.hitRatio ?? 0)
  return 1
}

/**
 * Arrival rates per component and class: the fixed point of λ = external + Σ share·pass·λ(from).
 * Converges for any design whose cycles let traffic out; throws otherwise.
 */
export function propagate(design: Design, traffic: TrafficProfile): Map<string, Flow> {
  const net = network(design)
  const external = new Map<string, Flow>()
  const perClient = net.clients.length > 0 ? traffic.peakRps / net.clients.length : 0
  for (const c of net.clients) {
    external.set(c.id, { read: perClient * traffic.readRatio, write: perClient * (1 - traffic.readRatio) })
  }
  let flows = new Map<string, Flow>(
    design.components.map((c) => [c.id, { ...(external.get(c.id) ?? { read: 0, write: 0 }) }])
  )
  const scale = Math.max(1, traffic.peakRps)
  for (let iteration = 0; iteration < 10_000; iteration++) {
    const next = new Map<string, Flow>(
      design.components.map((c) => [c.id, { ...(external.get(c.id) ?? { read: 0, write: 0 }) }])
    )
    for (const [from, links] of net.out) {
      const source = net.byId.get(from) as Component
      const flow = flows.get(from) as Flow
      for (const link of links) {
        const target = next.get(link.to) as Flow
        if (carries(link.traffic, 'read')) target.read += flow.read * passFactor(source, 'read') * link.share
        if (carries(link.traffic, 'write')) target.write += flow.write * passFactor(source, 'write') * link.share
      }
    }
    let change = 0
    let total = 0
    for (const [id, f] of next) {
      const prev = flows.get(id) as Flow
      change = Math.max(change, Math.abs(f.read - prev.read), Math.abs(f.write - prev.write))
      total += f.read + f.write
    }
    flows = next
    if (!Number.isFinite(total) || total > scale * 1e9) break
    if (change <= 1e-9 * scale) return flows
  }
  throw new DivergentDesignError('traffic does not settle: a cycle passes on at least as much as it receives')
}

function buildStations(
  design: Design,
  flows: Map<string, Flow>
): { stations: Station[]; byComponent: Map<string, Station[]> } {
  const stations: Station[] = []
  const byComponent = new Map<string, Station[]>()
  for (const c of design.components) {
    if (c.type === 'client') continue
    const flow = flows.get(c.id) as Flow
    const servers = c.instances * c.concurrency
    const nodes: { name: string; lambda: number }[] =
      c.type === 'database'
        ? (() => {
            // Writes go to the primary; reads spread evenly over primary and replicas.
            const copies = 1 + (c.replicas ?? 0)
            return [
              { name: 'primary', lambda: flow.write + flow.read / copies },
              ...Array.from({ length: copies - 1 }, (_, k) => ({
                name: `replica-${k + 1}`,
                lambda: flow.read / copies
              }))
            ]
          })()
        : [{ name: c.id, lambda: flow.read + flow.write }]
    const list = nodes.map((node) => {
      const station: Station = {
        index: stations.length,
        componentId: c.id,
        name: node.name,
        servers,
        serviceTimeMs: c.serviceTimeMs,
        lambda: node.lambda,
        ...stationFigures(node.lambda, servers, c.serviceTimeMs)
      }
      stations.push(station)
      return station
    })
    byComponent.set(c.id, list)
  }
  return { stations, byComponent }
}

interface Visit {
  station: Station
}

/**
 * Samples one request's path: the stations it visits in order. Each link is followed on its
 * own with probability `share`; a cache hit stops the request; a queue hands work off
 * asynchronously, so what follows it is not on the request's path.
 */
function samplePath(
  net: Network,
  byComponent: Map<string, Station[]>,
  traffic: TrafficProfile,
  rng: () => number
): Visit[] {
  const visits: Visit[] = []
  const client = net.clients[Math.floor(rng() * net.clients.length)]
  const cls: 'read' | 'write' = rng() < traffic.readRatio ? 'read' : 'write'
  const walk = (id: string, depth: number) => {
    if (depth > MAX_HOPS) return
    const c = net.byId.get(id) as Component
    if (c.type !== 'client') {
      const nodes = byComponent.get(id) as Station[]
      const station = cls === 'write' || nodes.length === 1 ? nodes[0] : nodes[Math.floor(rng() * nodes.length)]
      visits.push({ station })
      if (c.type === 'queue') return
      if ((c.type === 'cache' || c.type === 'cdn') && cls === 'read' && rng() < (c.hitRatio ?? 0)) return
    }
    for (const link of net.out.get(id) ?? []) {
      if (carries(link.traffic, cls) && rng() < link.share) walk(link.to, depth + 1)
    }
  }
  walk(client.id, 0)
  return visits
}

/** A sojourn sample at an M/M/c station; null when a saturated station sheds the request. */
function sampleSojourn(s: Station, rng: () => number): number | null {
  const mu = 1000 / s.serviceTimeMs
  if (s.saturated) {
    if (rng() > 1 / s.utilization) return null
    return exponential(rng, mu) * 1000 + SATURATED_WAIT_MS
  }
  let t = exponential(rng, mu)
  if (rng() < s.waitProbability) t += exponential(rng, s.servers * mu - s.lambda)
  return t * 1000
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

/** Mean end-to-end latency from a seeded event-driven simulation of the same network. */
function discreteEventLatencies(
  net: Network,
  byComponent: Map<string, Station[]>,
  stations: Station[],
  traffic: TrafficProfile,
  rng: () => number,
  requests: number
): { latencies: number[]; dropped: number } {
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
  const busy = new Int32Array(stations.length)
  const waiting: number[][] = stations.map(() => [])
  const paths: Visit[][] = []
  const step = new Int32Array(requests)
  const born = new Float64Array(requests)
  const latencies: number[] = []
  const warmup = Math.floor(requests * 0.1)
  let t = 0
  for (let r = 0; r < requests; r++) {
    t += exponential(rng, traffic.peakRps) * 1000
    paths.push(samplePath(net, byComponent, traffic, rng))
    born[r] = t
  }
  const advance = (r: number, now: number) => {
    const path = paths[r]
    if (step[r] >= path.length) {
      if (r >= warmup) latencies.push(now - born[r])
      return
    }
    push([now, 0, r, path[step[r]].station.index])
  }
  for (let r = 0; r < requests; r++) advance(r, born[r])
  while (heap.length > 0) {
    const [now, kind, r, s] = pop()
    const station = stations[s]
    if (kind === 0) {
      if (busy[s] < station.servers) {
        busy[s]++
        push([now + exponential(rng, 1000 / station.serviceTimeMs) * 1000, 1, r, s])
      } else waiting[s].push(r)
    } else {
      const next = waiting[s].shift()
      if (next !== undefined) push([now + exponential(rng, 1000 / station.serviceTimeMs) * 1000, 1, next, s])
      else busy[s]--
      step[r]++
      advance(r, now)
    }
  }
  return { latencies, dropped: 0 }
}

/** Simulates a valid design under a traffic profile. */
export function simulate(design: Design, traffic: TrafficProfile, options: SimulateOptions = {}): SimulationResult {
  const seed = options.seed ?? 1
  const mode = options.mode ?? 'analytic'
  const samples = options.samples ?? (mode === 'analytic' ? 20_000 : 50_000)
  const net = network(design)
  const flows = propagate(design, traffic)
  const { stations, byComponent } = buildStations(design, flows)
  const rng = createRng(seed)

  let latencies: number[]
  let dropped = 0
  if (mode === 'discrete-event') {
    if (stations.some((s) => s.saturated)) {
      throw new DivergentDesignError('the discrete-event mode needs a stable design (every utilisation below 1)')
    }
    latencies = discreteEventLatencies(net, byComponent, stations, traffic, rng, samples).latencies
  } else {
    latencies = []
    for (let i = 0; i < samples; i++) {
      let total = 0
      let lost = false
      for (const visit of samplePath(net, byComponent, traffic, rng)) {
        const sojourn = sampleSojourn(visit.station, rng)
        if (sojourn === null) {
          lost = true
          break
        }
        total += sojourn
      }
      if (lost) dropped++
      else latencies.push(total)
    }
  }
  const sorted = Float64Array.from(latencies).sort()
  const mean = latencies.length > 0 ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0
  const errorRate = samples > 0 ? dropped / samples : 0

  const components: ComponentResult[] = design.components
    .filter((c) => c.type !== 'client')
    .map((c) => {
      const nodes = byComponent.get(c.id) as Station[]
      const lambda = nodes.reduce((sum, s) => sum + s.lambda, 0)
      const busiest = nodes.reduce((a, b) => (b.utilization > a.utilization ? b : a))
      const meanLatency =
        lambda > 0 ? nodes.reduce((sum, s) => sum + s.lambda * s.meanSojournMs, 0) / lambda : busiest.meanSojournMs
      return {
        id: c.id,
        type: c.type,
        arrivalRps: round(lambda),
        utilization: round(busiest.utilization, 4),
        meanLatencyMs: round(meanLatency),
        p95LatencyMs: round(Math.max(...nodes.map((s) => s.p95SojournMs))),
        saturated: nodes.some((s) => s.saturated)
      }
    })

  const loaded = stations.filter((s) => s.lambda > 0)
  const bottleneck = loaded.length > 0 ? loaded.reduce((a, b) => (b.utilization > a.utilization ? b : a)) : null
  // λ at every station is linear in peakRps, so the first station to reach ρ = 1 sets the ceiling.
  const maxSustainableRps =
    loaded.length > 0 && traffic.peakRps > 0
      ? Math.min(...loaded.map((s) => (s.servers * (1000 / s.serviceTimeMs)) / (s.lambda / traffic.peakRps)))
      : 0
  const singlePointsOfFailure = design.components
    .filter((c) => c.type !== 'client' && c.type !== 'external' && c.instances === 1)
    .filter((c) => !(c.type === 'database' && (c.replicas ?? 0) > 0))
    .filter((c) => {
      const f = flows.get(c.id) as Flow
      return f.read + f.write > 0
    })
    .map((c) => c.id)

  return {
    mode,
    seed,
    samples,
    components,
    overall: {
      p50: round(percentile(sorted, 0.5)),
      p95: round(percentile(sorted, 0.95)),
      p99: round(percentile(sorted, 0.99)),
      meanLatencyMs: round(mean),
      throughputRps: round(traffic.peakRps * (1 - errorRate)),
      errorRate: round(errorRate, 5),
      bottleneck: bottleneck?.componentId ?? null,
      maxSustainableRps: round(Number.isFinite(maxSustainableRps) ? maxSustainableRps : 0),
      singlePointsOfFailure
    }
  }
}

/** The analytic mean end-to-end latency: Σ over stations of visits per request × mean sojourn. */
export function analyticMeanLatencyMs(design: Design, traffic: TrafficProfile): number {
  const flows = propagate(design, traffic)
  const { stations } = buildStations(design, flows)
  return stations.reduce((sum, s) => sum + (s.lambda / traffic.peakRps) * s.meanSojournMs, 0)
}
