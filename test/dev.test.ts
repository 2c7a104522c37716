import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../reliability/lib/process.ts'
import { freePort } from '../reliability/lib/stack.ts'
import { waitFor } from './helpers/db.ts'

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })

t.test('Ctrl+C on npm start drains the api and the worker, then stops the database, exit 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-dev-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const [apiPort, pgPort] = [await freePort(), await freePort()]
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    API_PORT: String(apiPort),
    EMBEDDED_PG_PORT: String(pgPort),
    EMBEDDED_PG_DATA_DIR: join(dir, 'postgres'),
    LOG_LEVEL: 'info'
  }
  // Its own process group, like a shell's foreground job: the signal below goes to the whole group,
  // as a terminal's Ctrl+C does.
  const dev = spawn(process.execPath, ['src/dev.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  dev.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  dev.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => dev.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (dev.exitCode === null) process.kill(-(dev.pid as number), 'SIGKILL')
  })

  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${apiPort}/health/ready`).catch(() => null)
      return res?.status === 200
    },
    { timeoutMs: 90_000, what: 'npm start to be ready' }
  )
  await waitFor(async () => /worker \| worker ready/.test(output), { what: 'the worker to be ready' })

  process.kill(-(dev.pid as number), 'SIGINT')
  t.equal(await exited, 0, 'exit code 0')
  t.match(output, /api \| shutdown complete/, 'the api drained')
  t.match(output, /worker \| shutdown complete/, 'the worker drained')
  t.match(output, /embedded database stopped/)
  t.notMatch(output, /exiting now/, 'no child took the stop for a second signal')
  t.notOk(await listening(pgPort), 'the database is down')
  t.notOk(await listening(apiPort), 'the api is down')
})
