import { readdirSync, readFileSync } from 'node:fs'

// CPU time of processes other than this one, from /proc: what a server spent on the requests it
// served, measured from outside it. Clock ticks are 1/100 s on Linux (CLK_TCK), so a one-second
// round of a busy server is measured to about 1 %.

const TICK_US = 10_000

/** User plus system CPU of a process (all its threads), in µs; 0 once it has exited. */
export const processCpuUs = (pid: number): number => statCpuUs(`/proc/${pid}/stat`)

/**
 * The same for its main thread alone (Node's event loop: the JavaScript a profile sees); the rest
 * is V8's background threads (garbage collection, compilation) and libuv's pool.
 */
export const mainThreadCpuUs = (pid: number): number => statCpuUs(`/proc/${pid}/task/${pid}/stat`)

/** A thread's group, by the name Node and V8 give it (`/proc/<pid>/task/<tid>/comm`). */
const groupOf = (comm: string) =>
  comm === 'MainThread' || comm === 'node'
    ? 'main'
    : comm.startsWith('V8') || comm.startsWith('DelayedTask')
      ? 'v8'
      : comm.startsWith('libuv')
        ? 'libuv'
        : 'other'

/**
 * CPU µs by thread group: `main` (the event loop), `v8` (V8's platform workers: concurrent and
 * parallel garbage collection, background compilation), `libuv` (the pool: dns, fs, crypto's async
 * calls) and `other` (worker threads, the inspector). The main thread is the one whose tid is the pid.
 */
export function threadGroupsCpuUs(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, v8: 0, libuv: 0, other: 0 }
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    let comm = ''
    try {
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
    } catch {
      continue
    }
    const group = tid === String(pid) ? 'main' : groupOf(comm)
    out[group] += statCpuUs(`/proc/${pid}/task/${tid}/stat`)
  }
  return out
}

function statCpuUs(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_US
  } catch {
    return 0
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** CPU of a process and all its descendants (a postmaster and its backends), in µs. */
export function treeCpuUs(pid: number): number {
  let total = 0
  const stack = [pid]
  while (stack.length > 0) {
    const next = stack.pop() as number
    total += processCpuUs(next)
    stack.push(...children(next))
  }
  return total
}

/** The CPU a piece of work costs the given processes, by snapshot before and after. */
export async function measuredCpu<T>(
  pids: Record<string, () => number>,
  work: () => Promise<T>
): Promise<{ result: T; cpuUs: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, read]) => [name, read()]))
  const result = await work()
  const cpuUs = Object.fromEntries(Object.entries(pids).map(([name, read]) => [name, read() - before[name]]))
  return { result, cpuUs }
}
