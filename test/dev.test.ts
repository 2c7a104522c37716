import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { waitFor } from './helpers/db.ts'
import { ROOT } from './helpers/process.ts'
import { freePort } from './helpers/stack.ts'

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })

const run = promisify(execFile)

/** The curl walk-through in docs/api.md: the sh block right after its marker comment. */
async function readmeCurlBlock(): Promise<string> {
  const readme = await readFile(join(ROOT, 'docs/api.md'), 'utf8')
  const marker = '<!-- the curl walk-through: test/dev.test.ts runs this block against `npm start` -->\n```sh\n'
  const from = readme.indexOf(marker)
  if (from < 0) throw new Error('docs/api.md: the curl walk-through marker is gone')
  const start = from + marker.length
  return readme.slice(start, readme.indexOf('```\n', start))
}

t.test(
  'npm start runs the demo and the README walk-through; Ctrl+C drains the api and the worker, then stops the database, exit 0',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sdc-dev-'))
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
    // A failed test still stops everything: Ctrl+C first (the api, the worker and the database run
    // in process groups of their own, which only npm start's own shutdown reaches), SIGKILL after.
    t.teardown(async () => {
      if (dev.exitCode === null) {
        process.kill(-(dev.pid as number), 'SIGINT')
        const stopped = await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000, 'late'))])
        if (stopped === 'late') process.kill(-(dev.pid as number), 'SIGKILL')
      }
      await rm(dir, { recursive: true, force: true })
    })

    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${apiPort}/health/ready`).catch(() => null)
        return res?.status === 200
      },
      { timeoutMs: 90_000, what: 'npm start to be ready' }
    )
    await waitFor(async () => /worker \| worker ready/.test(output), { what: 'the worker to be ready' })

    // Idle is quiet: nothing logged while nobody asks anything (the worker's loops, pg-boss's
    // supervision every WORKER_SUPERVISE_INTERVAL_SECONDS and the audit sealer run silently).
    await new Promise((r) => setTimeout(r, 1000)) // the readiness probe's own request line
    const settled = output.length
    await new Promise((r) => setTimeout(r, 16_000))
    t.equal(output.slice(settled), '', 'an idle server logs nothing for 16 s (a supervision cycle)')
    t.notMatch(output, /ERROR|WARN/, 'and nothing failed or warned at start')

    // What a newcomer opens: the web app, built by npm start and served by the api.
    const base = `http://127.0.0.1:${apiPort}`
    const page = await fetch(`${base}/`)
    t.equal(page.status, 200, 'the web app is at /')
    t.match(await page.text(), /<script type="module" src="\/assets\/main-\w+\.js">/)
    t.match(output, /web app built/)

    // What a newcomer runs next (README): `npm run demo`, then the same with curl.
    const demo = await run(process.execPath, ['src/demo.ts', '--url', base], { cwd: ROOT, env, timeout: 90_000 })
    t.match(demo.stdout, /3\. simulated: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/)
    t.match(demo.stdout, /breaks first: \w+ reaches 70 % at [\d.]+ rps; the p95 SLO is missed from [\d.—]+ rps/)
    t.match(
      demo.stdout,
      /if an instance is lost:\n( +\w+ +(outage|p95 unbounded|p95 [\d.]+ ms), errors [\d.]+ %, SLO (holds|missed)\n)+/
    )
    t.match(demo.stdout, /availability [\d.]+ % \([\d.]+ min down a month\); cost \$[\d.]+ a month/)
    t.match(
      demo.stdout,
      /predictions \(\d+ % right\):\n +[✓✗] p95Ms: predicted 60, the model [\d.]+/,
      'a prediction and its score'
    )
    t.match(
      demo.stdout,
      /how \S+ was computed \(erlang_c, p95 \w+\):\n +λ₀ +arrivals offered: [\d.]+ rps/,
      'one derivation'
    )
    t.match(demo.stdout, /4\. graded: \d+\/100, estimation \d+ %/)
    t.match(demo.stdout, /[✓✗] Capacity headroom at peak \(waiting stays short\): /, 'each item with its finding')
    t.match(demo.stdout, /✗ .*\n +→ \S/, 'a failed item says what to change')
    t.match(demo.stdout, /5\. exported \S+\.html \(\d+ bytes of HTML with SVG charts\)/)
    t.match(demo.stdout, /6\. exercise "[^"]+" \(\d+ in all\)/)
    t.match(demo.stdout, /✗ Survives losing one instance of any component: measured — /, 'one instance fails a drill')
    t.match(demo.stdout, /7\. submitted: (\d+) of \1 checks pass, \d+\/100 \(\d+ points off for hints\)/)
    const walk = await run('bash', ['-eo', 'pipefail', '-c', await readmeCurlBlock()], {
      cwd: dir,
      env: { ...env, B: base },
      timeout: 120_000
    })
    t.match(walk.stdout, /"score":\d+/, 'the walk-through prints the grade')
    t.match(await readFile(join(dir, 'report.html'), 'utf8'), /<svg [^>]*aria-label="Utilisation per component"/)

    process.kill(-(dev.pid as number), 'SIGINT')
    t.equal(await exited, 0, 'exit code 0')
    t.match(output, /api \| shutdown complete/, 'the api drained')
    t.match(output, /worker \| shutdown complete/, 'the worker drained')
    t.match(output, /embedded database stopped/)
    t.notMatch(output, /exiting now/, 'no child took the stop for a second signal')
    t.notOk(await listening(pgPort), 'the database is down')
    t.notOk(await listening(apiPort), 'the api is down')
  }
)
