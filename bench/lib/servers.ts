import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { spawnNode } from './load.ts'

export interface Server {
  kind: string
  pid: number
  address: string
  stop(): Promise<void>
}

const ENTRY = fileURLToPath(new URL('../servers/serve.ts', import.meta.url))

/** Starts a server under test in its own process (pinned to `cpu`, or not) and waits for its address. */
export async function startServer(kind: string, env: Record<string, string>, cpu: number | null): Promise<Server> {
  const child: ChildProcess = spawnNode(ENTRY, { ...process.env, ...env, BENCH_SERVER: kind }, cpu)
  const address = await new Promise<string>((resolve, reject) => {
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start in 60 s`)), 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      for (const line of buffer.split('\n')) {
        if (!line.startsWith('{"address"')) continue
        clearTimeout(timer)
        resolve(JSON.parse(line).address)
      }
    })
    child.once('exit', (code) => reject(new Error(`${kind} server exited at start (${code})`)))
  })
  return {
    kind,
    pid: child.pid as number,
    address,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill('SIGTERM')
      })
  }
}
