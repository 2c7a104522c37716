import type { Sql } from '../../src/db/client.ts'
import type { Design } from '../../src/domain/model.ts'
import type { Figures } from './measure.ts'
import type { Server } from './servers.ts'

/** What every phase gets: the method's settings, the database, the users and workspaces made for it, and a way to start servers. */
export interface BenchContext {
  smoke: boolean
  rounds: number
  seconds: number
  warmupSeconds: number
  /** Server processes started per variant in the ratio phases, taken in turn by round. */
  processesPerVariant: number
  /** Connections for the trivial routes, and for the database routes. */
  connections: number
  dbConnections: number
  /** Whether `--targets` selects this target (all are measured without it). */
  wants: (target: string) => boolean
  log: (msg: string) => void
  /** The bench's own pool on the embedded database (set-up and clean-up, never measured). */
  sql: Sql
  /** CPU µs the database's processes have used so far. */
  dbCpu: () => number
  /** The postmaster's pid (its backends are its children). */
  postmaster: number
  /** The environment every server and worker under test gets. */
  env: Record<string, string>
  /** Starts a server under test in its own process, pinned to `cpu` (or not); stopped at the end. */
  start: (kind: string, extra: Record<string, string>, cpu: number | null) => Promise<Server>
  /** VACUUM ANALYZE and CHECKPOINT: each comparison starts from the same database state. */
  settle: () => Promise<void>
  post: (
    url: string,
    body: unknown,
    headers?: Record<string, string>
  ) => Promise<{ status: number; body: Record<string, unknown> }>
  token: string
  userId: string
  auth: Record<string, string>
  workspaces: string[]
  /** One learner per workspace (enqueues from one user wait on each other's quota check). */
  learners: { headers: Record<string, string>; workspace: string }[]
  /** The sections of the report written so far (a later phase may read an earlier one's figures). */
  report: Record<string, unknown>
}

export interface Phase {
  name: string
  run(ctx: BenchContext): Promise<Record<string, unknown>>
}

export const DESIGN: Design = {
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'api', type: 'service', instances: 3, concurrency: 8, serviceTimeMs: 20 },
    { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  ],
  links: [
    { from: 'users', to: 'api', share: 1 },
    { from: 'api', to: 'db', share: 1 }
  ]
}

/** A chain of `n` components (every seventh a cache), for the engine's timings. */
export function chainDesign(n: number): Design {
  const components: Design['components'] = [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 }
  ]
  const links: Design['links'] = []
  for (let i = 0; i < n - 1; i++) {
    const cache = i % 7 === 3
    components.push({
      id: `c${i}`,
      type: cache ? 'cache' : 'service',
      instances: 2,
      concurrency: 16,
      serviceTimeMs: 4,
      ...(cache ? { hitRatio: 0.5 } : {})
    })
    links.push({ from: i === 0 ? 'users' : `c${i - 1}`, to: `c${i}`, share: 1 })
  }
  return { components, links }
}

/**
 * `n` components using every feature of the engine: load balancers that split over a random-
 * balanced pair, variable and finite services, pure delays, links with network time and (in the
 * first ten tiers) a timeout with retries, a cache, and a queue with workers; in tiers of ten.
 */
export function featureDesign(n: number): Design {
  const components: Design['components'] = [{ id: 'users', type: 'client' } as Design['components'][number]]
  const links: Design['links'] = []
  let previous = 'users'
  for (let tier = 0; components.length < n; tier++) {
    const id = (name: string) => `t${tier}-${name}`
    const service = { instances: 4, concurrency: 8, serviceTimeMs: 5 }
    components.push(
      { id: id('lb'), type: 'load_balancer', instances: 2, concurrency: 500, serviceTimeMs: 0.2 },
      { id: id('a'), type: 'service', ...service, balancing: 'random', serviceTimeCv: 0.5, calls: 'parallel' },
      { id: id('b'), type: 'service', ...service, serviceTimeCv: 2, queueLimit: 40 },
      { id: id('cache'), type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 0.5, hitRatio: 0.8 },
      { id: id('db'), type: 'database', instances: 1, concurrency: 16, serviceTimeMs: 3, replicas: 2 },
      { id: id('ext'), type: 'external', instances: 1, concurrency: 1, serviceTimeMs: 40, delay: true },
      { id: id('queue'), type: 'queue', instances: 1, concurrency: 100, serviceTimeMs: 0.5 },
      { id: id('workers'), type: 'worker', instances: 4, concurrency: 2, serviceTimeMs: 20 },
      { id: id('store'), type: 'object_storage', instances: 3, concurrency: 50, serviceTimeMs: 15 },
      { id: id('next'), type: 'service', ...service }
    )
    links.push(
      { from: previous, to: id('lb'), latencyMs: 1 },
      { from: id('lb'), to: id('a'), share: 0.5 },
      { from: id('lb'), to: id('b'), share: 0.5 },
      { from: id('a'), to: id('cache'), traffic: 'read' },
      { from: id('b'), to: id('cache'), traffic: 'read' },
      { from: id('cache'), to: id('db'), traffic: 'read' },
      { from: id('a'), to: id('db'), traffic: 'write' },
      // A timeout in the first tiers (a design may have at most LIMITS.timeoutLinks of them).
      { from: id('b'), to: id('ext'), share: 0.2, latencyMs: 20, ...(tier < 10 ? { timeoutMs: 100, retries: 1 } : {}) },
      { from: id('a'), to: id('queue'), share: 0.1 },
      { from: id('queue'), to: id('workers') },
      { from: id('workers'), to: id('store'), bandwidthMbps: 100 },
      { from: id('b'), to: id('next'), share: 0.5 }
    )
    previous = id('next')
  }
  return {
    components: components.slice(0, n),
    links: links.filter((l) => components.slice(0, n).some((c) => c.id === l.to))
  }
}

/** A report section without its per-pass detail. */
export const summary = (f: Figures) => ({ ...f, passes: undefined })
