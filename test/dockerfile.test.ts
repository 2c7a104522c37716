import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { createTestDatabase, waitFor } from './helpers/db.ts'
import { TEST_JWT_SECRET } from './helpers/process.ts'
import { freePort } from './helpers/stack.ts'

// No container engine can pull an image here, so the Dockerfile is replayed in a folder: exactly
// what its COPY lines and .dockerignore let in, its RUN steps run there with its ENV, then the
// api started from that folder and probed with the image's own HEALTHCHECK command.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

/** PATH, HOME and how this machine reaches the registry (proxies, its CA bundle). */
function network(): Record<string, string> {
  const keep = /^(PATH|HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(HTTPS?|NO)_PROXY)$/i
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => keep.test(e[0]) && e[1] !== undefined)
  )
}

interface Step {
  op: string
  args: string
}

async function dockerfile(): Promise<Step[]> {
  const text = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ')
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op] = line.split(/\s+/)
      return { op: op.toUpperCase(), args: line.slice(op.length).trim() }
    })
}

/** .dockerignore as plain paths; a pattern this replay cannot read fails the test rather than being skipped. */
async function ignored(): Promise<(path: string) => boolean> {
  const patterns = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  for (const p of patterns) if (/[*?![\]]/.test(p)) throw new Error(`.dockerignore pattern not supported here: ${p}`)
  return (path) => patterns.some((p) => path === p || path.startsWith(`${p}/`))
}

async function copyInto(context: string, sources: string[], dest: string, skip: (path: string) => boolean) {
  for (const source of sources) {
    const from = join(context, source)
    const target = dest.endsWith('/') && !(await stat(from)).isDirectory() ? join(dest, source) : dest
    await cp(from, target, {
      recursive: true,
      filter: (path) => !skip(relative(context, path).split('\\').join('/'))
    })
  }
}

t.test('the Dockerfile builds and runs: replayed in a folder', async (t) => {
  const steps = await dockerfile()
  t.equal(steps[0].op, 'FROM')
  t.match(steps[0].args, /^node:24/, 'a Node 24 base, as the project runs')
  const build = await mkdtemp(join(tmpdir(), 'sdc-image-'))
  t.teardown(() => rm(build, { recursive: true, force: true }))
  const skip = await ignored()
  let workdir = build
  const env: Record<string, string> = {}
  let cmd: string[] = []
  let healthcheck: string[] = []
  for (const { op, args } of steps) {
    if (op === 'WORKDIR') workdir = join(build, args)
    else if (op === 'ENV') {
      const [key, value] = args.split('=')
      env[key] = value
    } else if (op === 'COPY') {
      const parts = args.split(/\s+/)
      const dest = parts.pop() as string
      await copyInto(ROOT, parts, join(workdir, dest === './' ? '' : dest) + (dest.endsWith('/') ? '/' : ''), skip)
    } else if (op === 'RUN') {
      const started = Date.now()
      await run('bash', ['-c', args], {
        cwd: workdir,
        // The machine's npm cache first, and its way to the registry (a replay detail: a build
        // fetches through the builder's network).
        env: { ...network(), npm_config_prefer_offline: 'true', ...env },
        maxBuffer: 16 * 1024 * 1024
      })
      t.comment(`RUN ${args} (${Date.now() - started} ms)`)
    } else if (op === 'CMD') cmd = JSON.parse(args)
    else if (op === 'HEALTHCHECK') healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim())
  }
  t.same(await readdir(workdir).then((names) => names.sort()), [
    'jobs',
    'node_modules',
    'package-lock.json',
    'package.json',
    'patches',
    'plugins',
    'sql',
    'src',
    'web'
  ])
  t.notOk(
    (await readdir(join(workdir, 'node_modules'))).includes('tap'),
    'no devDependencies in the image (--omit=dev)'
  )
  const patched = await readFile(join(workdir, 'node_modules/postgres/src/connection.js'), 'utf8')
  t.match(patched, /\/\/ sdc: /, 'the postinstall patched postgres.js in the image')
  t.ok(healthcheck.length > 0, 'the image has a HEALTHCHECK')

  const { url } = await createTestDatabase(t)
  // A port the system says is free (a random one once collided with another test's listener).
  const port = String(await freePort())
  const processEnv = {
    PATH: process.env.PATH as string,
    ...env,
    DATABASE_URL: url,
    JWT_SECRET: TEST_JWT_SECRET,
    CORS_ALLOWED_ORIGINS: 'https://coach.example.com',
    // Production asks new accounts to confirm their email, so it needs a mail server (never reached here).
    SMTP_URL: 'smtp://127.0.0.1:2525',
    API_HOST: '127.0.0.1',
    API_PORT: port
  }
  // `node` is the project's Node 24 (npm puts it first on PATH), as the image's base provides.
  const api = spawn(cmd[0], cmd.slice(1), { cwd: workdir, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  api.stdout.on('data', (d) => output.push(String(d)))
  api.stderr.on('data', (d) => output.push(String(d)))
  t.teardown(() => {
    api.kill('SIGKILL')
  })
  const probe = () =>
    run(healthcheck[0], healthcheck.slice(1), { cwd: workdir, env: processEnv }).then(
      () => true,
      () => false
    )
  await waitFor(probe, { timeoutMs: 30_000, what: 'the HEALTHCHECK to pass' }).catch((err) => {
    console.error(output.join(''))
    throw err
  })
  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
  t.equal(ready.status, 200, 'ready against the test database')
  const app = await fetch(`http://127.0.0.1:${port}/`)
  t.equal(app.status, 200, 'the web app built into the image is served')
  t.match(app.headers.get('content-security-policy'), /^default-src 'self'/)
  api.kill('SIGTERM')
  const code = await new Promise((resolve) => api.once('exit', resolve))
  t.equal(code, 0, 'and it drains and exits 0 on SIGTERM')
})
