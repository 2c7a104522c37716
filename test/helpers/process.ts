import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The signing secret of test processes (NODE_ENV=test needs one; the development fallback is refused there). */
export const TEST_JWT_SECRET = 'test-only-jwt-secret-3f9c1a7e5b2d8c4f6a0e'

export interface Forked {
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
  /** Resolves with the first stdout JSON line whose msg matches. */
  waitForLog: (match: RegExp, timeoutMs?: number) => Promise<Record<string, unknown>>
}

/** Forks a real entry point with Node 24 and a clean environment (no inherited DATABASE_URL). */
export function fork(entry: string, env: Record<string, string>, args: string[] = []): Forked {
  const base: Record<string, string> = {}
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key]) base[key] = process.env[key] as string
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: { ...base, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const stdout: string[] = []
  const stderr: string[] = []
  const waiters: { match: RegExp; resolve: (line: Record<string, unknown>) => void }[] = []
  let pending = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      stdout.push(line)
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(line)
      } catch {
        continue
      }
      for (const waiter of [...waiters]) {
        if (waiter.match.test(String(parsed.msg))) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(parsed)
        }
      }
    }
  })
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()))
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  const waitForLog = (match: RegExp, timeoutMs = 20_000) => {
    const seen = stdout.map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return null
      }
    })
    const found = seen.find((l) => l && match.test(String(l.msg)))
    if (found) return Promise.resolve(found)
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no log line matching ${match} within ${timeoutMs} ms; stderr: ${stderr.join('')}`)),
        timeoutMs
      )
      waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        }
      })
      void exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`process exited (${code}) before logging ${match}; stderr: ${stderr.join('')}`))
      })
    })
  }
  return { child, stdout, stderr, exited, waitForLog }
}
