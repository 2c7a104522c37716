import { mainThreadCpuUs, processCpuUs, threadGroupsCpuUs } from './cpu.ts'
import type { LoadGenerator, LoadSpec, Run } from './load.ts'

// A comparison of targets in rounds: each round visits them in order and back (A B B A, or
// A B C C B A), a pass per visit, and every figure is the median over rounds. On a shared
// two-core machine a burst of load from elsewhere spoils a round, not the result. Each pass
// reads the server's CPU from /proc before and after: CPU µs per request is far steadier than
// requests per second.

export interface Target {
  name: string
  /** The server process whose CPU is charged to the requests. */
  pid: number
  spec: Omit<LoadSpec, 'seconds'>
  /**
   * Other processes of the same variant, taken in turn by round (round r: the (r mod n)-th of
   * this one and these), so one process's draw (its heap layout, what V8 compiled) does not decide a ratio.
   */
  others?: { pid: number; spec: Omit<LoadSpec, 'seconds'> }[]
}

/** A target over several processes of one variant: `spec` says what each is sent. */
export function across<S extends { pid: number }>(
  servers: S[],
  spec: (server: S) => Omit<LoadSpec, 'seconds'>
): Pick<Target, 'pid' | 'spec' | 'others'> {
  const [first, ...rest] = servers
  return { pid: first.pid, spec: spec(first), others: rest.map((s) => ({ pid: s.pid, spec: spec(s) })) }
}

/** The process of a target a round measures. */
const inTurn = (target: Target, round: number): Target => {
  const all = [{ pid: target.pid, spec: target.spec }, ...(target.others ?? [])]
  return { ...target, ...all[round % all.length] }
}

export interface Pass extends Run {
  cpuUsPerRequest: number
  /** Of it, the server's main thread (the rest: V8's background threads, libuv's pool). */
  mainCpuUsPerRequest: number
  /**
   * The server's CPU per request by thread group (threadGroupsCpuUs): which threads a cost lands
   * on. A thread that exits within the pass is missed (its CPU still counts in cpuUsPerRequest).
   */
  threadCpuUsPerRequest: Record<string, number>
  /** Postgres's CPU (postmaster and backends) per request, when it is measured. */
  dbCpuUsPerRequest?: number
}

export interface Figures {
  requestsPerSec: number
  cpuUsPerRequest: number
  mainCpuUsPerRequest: number
  /** Medians by thread group (Pass.threadCpuUsPerRequest). */
  threadCpuUsPerRequest: Record<string, number>
  dbCpuUsPerRequest?: number
  p50: number
  p99: number
  total: number
  non2xx: number
  non2xxByStatus: Record<string, number>
  errors: number
  passes: Pass[]
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The q-quantile of the values (nearest rank). */
export const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

export const round = (x: number, digits = 2) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export async function pass(load: LoadGenerator, target: Target, seconds: number, dbCpu?: () => number): Promise<Pass> {
  const cpu0 = processCpuUs(target.pid)
  const main0 = mainThreadCpuUs(target.pid)
  const threads0 = threadGroupsCpuUs(target.pid)
  const db0 = dbCpu?.()
  const run = await load.run({ ...target.spec, seconds })
  const cpu = processCpuUs(target.pid) - cpu0
  const main = mainThreadCpuUs(target.pid) - main0
  const threads = threadGroupsCpuUs(target.pid)
  const requests = Math.max(1, run.total)
  return {
    ...run,
    cpuUsPerRequest: round(cpu / requests, 1),
    mainCpuUsPerRequest: round(main / requests, 1),
    threadCpuUsPerRequest: Object.fromEntries(
      Object.entries(threads).map(([group, us]) => [group, round((us - (threads0[group] ?? 0)) / requests, 1)])
    ),
    ...(dbCpu ? { dbCpuUsPerRequest: round(((dbCpu() - (db0 as number)) as number) / requests, 1) } : {})
  }
}

/** Warm-up passes of every target, then `rounds` rounds there and back; figures per target. */
export async function compareTargets(
  load: LoadGenerator,
  targets: Target[],
  {
    rounds,
    seconds,
    warmupSeconds,
    dbCpu
  }: { rounds: number; seconds: number; warmupSeconds: number; dbCpu?: () => number }
): Promise<Record<string, Figures>> {
  // The warm-up is shared among a target's processes: the bench's length does not grow with them.
  for (const target of targets) {
    const n = 1 + (target.others?.length ?? 0)
    for (let i = 0; i < n; i++) await pass(load, inTurn(target, i), Math.max(1, warmupSeconds / n), dbCpu)
  }
  const passes = new Map<string, Pass[]>(targets.map((t) => [t.name, []]))
  for (let r = 0; r < rounds; r++) {
    for (const target of [...targets, ...[...targets].reverse()]) {
      passes.get(target.name)?.push(await pass(load, inTurn(target, r), seconds, dbCpu))
    }
  }
  const out: Record<string, Figures> = {}
  for (const [name, list] of passes) {
    const dbs = list.map((p) => p.dbCpuUsPerRequest).filter((x): x is number => x !== undefined)
    out[name] = {
      requestsPerSec: Math.round(median(list.map((p) => p.requestsPerSec))),
      cpuUsPerRequest: round(median(list.map((p) => p.cpuUsPerRequest)), 1),
      mainCpuUsPerRequest: round(median(list.map((p) => p.mainCpuUsPerRequest)), 1),
      threadCpuUsPerRequest: Object.fromEntries(
        Object.keys(list[0]?.threadCpuUsPerRequest ?? {}).map((g) => [
          g,
          round(median(list.map((p) => p.threadCpuUsPerRequest[g] ?? 0)), 1)
        ])
      ),
      ...(dbs.length ? { dbCpuUsPerRequest: round(median(dbs), 1) } : {}),
      p50: median(list.map((p) => p.p50)),
      p99: Math.max(...list.map((p) => p.p99)),
      total: list.reduce((s, p) => s + p.total, 0),
      non2xx: list.reduce((s, p) => s + p.non2xx, 0),
      non2xxByStatus: sumByStatus(list),
      errors: list.reduce((s, p) => s + p.errors, 0),
      passes: list
    }
  }
  return out
}

/** The passes' non-2xx answers by status code, added up. */
function sumByStatus(list: Pass[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of list)
    for (const [status, count] of Object.entries(p.non2xxByStatus ?? {})) out[status] = (out[status] ?? 0) + count
  return out
}

/** A ratio of b to a: the median over paired passes, and the middle half of them (25th to 75th percentile). */
export interface Ratio {
  cpu: number
  throughput: number
  spread: { cpu: [number, number]; throughput: [number, number] }
}

/**
 * A target's passes pooled by round (its pass there and its pass back, CPU over requests): the two
 * visits of a round sit symmetrically about its middle, so a drift in the machine's speed over the
 * round weighs on every target alike, and a ratio of two targets' rounds cancels it.
 */
function byRound(list: Pass[], cpuUs: (p: Pass) => number): { cpuUs: number; requestsPerSec: number }[] {
  const out: { cpuUs: number; requestsPerSec: number }[] = []
  for (let i = 0; i + 1 < list.length; i += 2) {
    const [there, back] = [list[i], list[i + 1]]
    const requests = Math.max(1, there.total + back.total)
    out.push({
      cpuUs: (cpuUs(there) * there.total + cpuUs(back) * back.total) / requests,
      requestsPerSec: (there.requestsPerSec + back.requestsPerSec) / 2
    })
  }
  return out
}

/** The median and the middle half (25th to 75th percentile) of per-round ratios. */
function middle(values: number[]): { median: number; spread: [number, number] } {
  return {
    median: round(median(values), 3),
    spread: [round(percentile(values, 0.25), 3), round(percentile(values, 0.75), 3)]
  }
}

/** Per round, a's CPU per request over b's (by `cpuUs` of a pass: the api's own, or with Postgres's). */
export function cpuRatios(figures: Record<string, Figures>, a: string, b: string, cpuUs: (p: Pass) => number) {
  const ra = byRound(figures[a].passes, cpuUs)
  const rb = byRound(figures[b].passes, cpuUs)
  const n = Math.min(ra.length, rb.length)
  return {
    cpu: middle(ra.slice(0, n).map((x, i) => x.cpuUs / Math.max(0.1, rb[i].cpuUs))),
    throughput: middle(ra.slice(0, n).map((x, i) => rb[i].requestsPerSec / Math.max(1, x.requestsPerSec)))
  }
}

/**
 * Ratios of `b` to `a` per round, median: `cpu` is a's µs per request over b's (b keeps that
 * share of a's efficiency), `throughput` is b's requests per second over a's.
 */
export function ratios(figures: Record<string, Figures>, a: string, b: string): Ratio {
  const { cpu, throughput } = cpuRatios(figures, a, b, (p) => p.cpuUsPerRequest)
  return {
    cpu: cpu.median,
    throughput: throughput.median,
    spread: { cpu: cpu.spread, throughput: throughput.spread }
  }
}

/**
 * A process that slows as it ages: its CPU per request in the last round over the first (the median
 * of each round's passes there and back). About 1 when it is steady; a driver queue that grew with
 * every query once took a server's read from 68 to 226 µs in 160 s.
 */
export function aging(f: Figures): number {
  const first = f.passes.slice(0, 2).map((p) => p.cpuUsPerRequest)
  const last = f.passes.slice(-2).map((p) => p.cpuUsPerRequest)
  return round(median(last) / Math.max(0.1, median(first)), 2)
}
