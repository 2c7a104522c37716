import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface LoadSpec {
  url: string
  seconds: number
  connections: number
  method?: 'GET' | 'POST' | 'PATCH'
  headers?: Record<string, string>
  body?: string
  /** Requests per second across all connections (open-loop load); unset, as fast as answered. */
  overallRate?: number
  /** `rotate`: each request to the next of `paths`; `autosave`: versioned PATCHes of the `paths` workspaces. */
  scenario?: 'rotate' | 'autosave'
  paths?: string[]
  /** With `rotate`: the headers of each path (one user per path). */
  headersList?: Record<string, string>[]
}

export interface Run {
  requestsPerSec: number
  p50: number
  p99: number
  total: number
  non2xx: number
  /** The non-2xx answers by status code ({} when there were none): a 409 of autosave is expected, a 503 is not. */
  non2xxByStatus: Record<string, number>
  errors: number
}

/** Runs `taskset -c <cpu> <node> <entry>` (or unpinned), with an IPC channel. */
export function spawnNode(entry: string, env: NodeJS.ProcessEnv, cpu: number | null, ipc = false): ChildProcess {
  const node = process.execPath
  const stdio = ipc ? (['ignore', 'pipe', 'inherit', 'ipc'] as const) : (['ignore', 'pipe', 'inherit'] as const)
  return cpu === null
    ? spawn(node, [entry], { env, stdio: [...stdio] })
    : spawn('taskset', ['-c', String(cpu), node, entry], { env, stdio: [...stdio] })
}

/** The load generator process, kept for a whole phase; each `run` is one autocannon pass. */
export class LoadGenerator {
  private readonly child: ChildProcess
  private constructor(cpu: number | null) {
    this.child = spawnNode(fileURLToPath(new URL('./load-child.ts', import.meta.url)), process.env, cpu, true)
  }
  static start(cpu: number | null): LoadGenerator {
    return new LoadGenerator(cpu)
  }
  run(spec: LoadSpec): Promise<Run> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code})`))
      this.child.once('exit', onExit)
      this.child.once('message', (run: Run) => {
        this.child.off('exit', onExit)
        resolve(run)
      })
      this.child.send(spec)
    })
  }
  stop(): void {
    this.child.kill('SIGKILL')
  }
}
