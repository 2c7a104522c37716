// The classroom's load generator, in a process of its own: virtual learners, each a closed loop
// over its own keep-alive connection from its own loopback address (127.0.0.2, 127.0.0.3, …), so
// the api's per-address limits see a class, not one client. autocannon cannot bind a source
// address, hence this. Takes commands over IPC (bench/lib/classroom.ts) and answers with the
// latencies of each kind of action within the measured window.
import { Agent, request } from 'node:http'
import { type ActionName, type GeneratorCommand, type GeneratorReport, type KindFigures, PLAN } from './classroom.ts'

interface Answer {
  status: number
  body: Record<string, unknown>
}

interface Learner {
  index: number
  email: string
  password: string
  address: string
  agents: Agent[]
  token: string
  workspace: string
  version: number
  design: { components: Record<string, unknown>[]; links: unknown[] } | null
  lastRun: string | null
  edits: number
}

const learners: Learner[] = []
let urls: string[] = []
/** The window being measured: actions that start and end within it are recorded. */
let window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY }
let stopped = false
let latencies = new Map<ActionName, number[]>()
let statuses = { ok: 0, clientError: 0, limited: 0, serverError: 0, failed: 0 }
let requests = 0
let samples: string[] = []

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const exponential = (mean: number) => -Math.log(1 - Math.random()) * mean

function call(l: Learner, method: string, path: string, body?: unknown): Promise<Answer> {
  const api = l.index % urls.length
  const url = new URL(path, urls[api])
  const payload = body === undefined ? null : JSON.stringify(body)
  const counted = performance.now() >= window.from
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method,
        agent: l.agents[api],
        localAddress: l.address,
        headers: {
          ...(l.token ? { authorization: `Bearer ${l.token}` } : {}),
          ...(payload === null
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
        }
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const status = res.statusCode ?? 0
          const text = Buffer.concat(chunks).toString('utf8')
          if (counted) {
            requests++
            if (status < 400) statuses.ok++
            else if (status === 429) statuses.limited++
            else if (status >= 500) statuses.serverError++
            else statuses.clientError++
            if (status >= 400 && samples.length < 10) samples.push(`${method} ${path}: ${status} ${text.slice(0, 200)}`)
          }
          let parsed: Record<string, unknown> = {}
          if (String(res.headers['content-type']).startsWith('application/json')) {
            try {
              parsed = JSON.parse(text)
            } catch {}
          }
          resolve({ status, body: parsed })
        })
      }
    )
    req.on('error', (err) => {
      if (counted) {
        requests++
        statuses.failed++
        if (samples.length < 10) samples.push(`${method} ${path}: ${err.message}`)
      }
      resolve({ status: 0, body: {} })
    })
    req.end(payload ?? undefined)
  })
}

/** Runs an action and records its latency when it lies within the window; false when it failed. */
async function timed(kind: ActionName, action: () => Promise<boolean>): Promise<boolean> {
  const t0 = performance.now()
  const ok = await action()
  const t1 = performance.now()
  if (ok && t0 >= window.from && t1 <= window.to) {
    const list = latencies.get(kind) ?? []
    latencies.set(kind, list)
    list.push(t1 - t0)
  }
  return ok
}

/** Polls a queued resource as the web app does (web/src/api.ts `poll`) until it leaves queued and running. */
async function poll(l: Learner, path: string): Promise<Answer> {
  let delay: number = PLAN.pollFirstMs
  const deadline = performance.now() + 60_000
  for (;;) {
    const answer = await call(l, 'GET', path)
    const status = answer.body.status
    if (answer.status !== 200 || (status !== 'queued' && status !== 'running')) return answer
    if (performance.now() > deadline || stopped) return answer
    await sleep(delay)
    delay = Math.min(delay * PLAN.pollFactor, PLAN.pollMaxMs)
  }
}

const actions: Record<ActionName, (l: Learner, exercises?: boolean) => Promise<boolean>> = {
  async signIn(l) {
    const answer = await call(l, 'POST', '/auth/login', { email: l.email, password: l.password })
    if (answer.status !== 200) return false
    l.token = answer.body.accessToken as string
    return true
  },
  async open(l, exercises = false) {
    let workspace: string | null = null
    if (exercises) {
      const list = await call(l, 'GET', '/exercises')
      const items = (Array.isArray(list.body) ? list.body : (list.body.items as { slug: string }[] | undefined)) ?? []
      const slug = (items[l.index % Math.max(1, items.length)] as { slug?: string } | undefined)?.slug
      if (slug) {
        const attempt = await call(l, 'POST', `/exercises/${slug}/attempts`, {})
        workspace = (attempt.body.workspaceId ?? attempt.body.id ?? null) as string | null
      }
    }
    if (!workspace) {
      await call(l, 'GET', '/workspaces?limit=20')
      const created = await call(l, 'POST', '/workspaces', { name: `lesson ${l.index}`, design: SAMPLE })
      if (created.status !== 201) return false
      workspace = created.body.id as string
    }
    const loaded = await call(l, 'GET', `/workspaces/${workspace}`)
    if (loaded.status !== 200) return false
    l.workspace = workspace
    l.version = loaded.body.version as number
    l.design = loaded.body.design as Learner['design']
    return true
  },
  async autosave(l) {
    const design = l.design as NonNullable<Learner['design']>
    // An edit: one component's service time changes (the board the learner works on, sent whole).
    const editable = design.components.filter((c) => c.type !== 'client')
    const target = editable[l.edits++ % Math.max(1, editable.length)]
    if (target) target.serviceTimeMs = 5 + (l.edits % 20)
    const answer = await call(l, 'PATCH', `/workspaces/${l.workspace}`, { version: l.version, design })
    if (answer.status === 200) l.version = answer.body.version as number
    else if (answer.status === 409) l.version = answer.body.currentVersion as number
    return answer.status === 200
  },
  async preview(l) {
    return (await call(l, 'POST', `/workspaces/${l.workspace}/preview`, {})).status === 200
  },
  async simulate(l) {
    const queued = await call(l, 'POST', `/workspaces/${l.workspace}/simulations`, {})
    if (queued.status !== 202) return false
    const done = await poll(l, `/simulations/${queued.body.id}`)
    if (done.body.status !== 'completed') return false
    l.lastRun = queued.body.id as string
    return true
  },
  async grade(l) {
    if (!l.lastRun) return false
    const queued = await call(l, 'POST', `/simulations/${l.lastRun}/grade`, {})
    if (queued.status !== 202) return false
    return (await poll(l, `/grades/${queued.body.id}`)).body.status === 'completed'
  },
  async export(l) {
    const queued = await call(l, 'POST', `/workspaces/${l.workspace}/exports`, { format: 'markdown' })
    if (queued.status !== 202) return false
    const done = await poll(l, `/exports/${queued.body.id}`)
    if (done.body.status !== 'completed') return false
    return (await call(l, 'GET', `/exports/${queued.body.id}/content`)).status === 200
  },
  async listRuns(l) {
    return (await call(l, 'GET', `/workspaces/${l.workspace}/simulations?limit=20`)).status === 200
  }
}

/** The design a learner starts from when there are no exercises to open: the web app's sample. */
const SAMPLE = {
  components: [
    { id: 'users', type: 'client' },
    { id: 'lb', type: 'load_balancer', instances: 2, concurrency: 500, serviceTimeMs: 0.5 },
    { id: 'api', type: 'service', instances: 3, concurrency: 8, serviceTimeMs: 20 },
    { id: 'cache', type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8 },
    { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  ],
  links: [
    { from: 'users', to: 'lb' },
    { from: 'lb', to: 'api' },
    { from: 'api', to: 'cache', traffic: 'read' },
    { from: 'cache', to: 'db', traffic: 'read' },
    { from: 'api', to: 'db', traffic: 'write' }
  ]
}

/** A learner's lesson: an exercise opened, then edits (each saved and previewed) with the timetable's other actions in their turn. */
async function lesson(l: Learner, exercises: boolean, thinkMs: number) {
  if (!l.workspace) await timed('open', () => actions.open(l, exercises))
  const now = performance.now()
  let nextSimulate = now + Math.random() * PLAN.simulateEveryMs
  let nextExport = now + Math.random() * PLAN.exportEveryMs
  let nextList = now + Math.random() * PLAN.listRunsEveryMs
  let nextOpen = now + PLAN.openEveryMs * (0.5 + Math.random())
  while (!stopped) {
    await sleep(exponential(thinkMs))
    if (stopped) break
    const t = performance.now()
    // An exercise that failed to open (an overloaded api) is opened again before anything else.
    if (!l.workspace || !l.design) await timed('open', () => actions.open(l, exercises))
    else if (t >= nextSimulate) {
      nextSimulate += PLAN.simulateEveryMs
      const ok = await timed('simulate', () => actions.simulate(l))
      if (ok && Math.random() < PLAN.gradeShare) await timed('grade', () => actions.grade(l))
    } else if (t >= nextExport) {
      nextExport += PLAN.exportEveryMs
      await timed('export', () => actions.export(l))
    } else if (t >= nextList) {
      nextList += PLAN.listRunsEveryMs
      await timed('listRuns', () => actions.listRuns(l))
    } else if (t >= nextOpen) {
      nextOpen += PLAN.openEveryMs
      await timed('open', () => actions.open(l, exercises))
    } else {
      const saved = await timed('autosave', () => actions.autosave(l))
      if (!saved || stopped) continue
      await sleep(PLAN.previewAfterMs)
      await timed('preview', () => actions.preview(l))
    }
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

function report(): GeneratorReport {
  const figures: Partial<Record<ActionName, KindFigures>> = {}
  for (const [kind, list] of latencies) {
    const sorted = [...list].sort((a, b) => a - b)
    const r = (x: number) => Math.round(x * 10) / 10
    figures[kind] = {
      count: sorted.length,
      p50: r(quantile(sorted, 0.5)),
      p95: r(quantile(sorted, 0.95)),
      p99: r(quantile(sorted, 0.99))
    }
  }
  return {
    windowSeconds: Math.round((window.to - window.from) / 10) / 100,
    actions: figures,
    requests,
    statuses,
    samples
  }
}

function reset() {
  latencies = new Map()
  statuses = { ok: 0, clientError: 0, limited: 0, serverError: 0, failed: 0 }
  requests = 0
  samples = []
}

let running: Promise<unknown> = Promise.resolve()

process.on('message', async (command: GeneratorCommand) => {
  await running
  reset()
  urls = command.urls
  if (command.type === 'signIn') {
    // The class signs in: every learner once, `concurrency` at a time.
    for (const [i, spec] of command.learners.entries()) {
      if (learners[i]) continue
      learners.push({
        index: i,
        ...spec,
        agents: urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 })),
        token: '',
        workspace: '',
        version: 0,
        design: null,
        lastRun: null,
        edits: 0
      })
    }
    stopped = false
    window = { from: performance.now(), to: Number.POSITIVE_INFINITY }
    let next = 0
    const signedIn: boolean[] = []
    await Promise.all(
      Array.from({ length: Math.min(command.concurrency, learners.length) }, async () => {
        while (next < learners.length) {
          const l = learners[next++]
          // A learner signed in by an earlier command keeps its session.
          if (!l.token) signedIn.push(await timed('signIn', () => actions.signIn(l)))
        }
      })
    )
    window.to = performance.now()
    // Latencies were recorded against an open-ended window; keep them.
    process.send?.({ type: 'done', report: report(), signedIn: signedIn.filter(Boolean).length })
    return
  }
  const taking = learners.slice(0, command.learners)
  for (const l of taking) for (const agent of l.agents) agent.destroy()
  // Fresh connections to this run's servers (the agents are per api).
  for (const l of taking) l.agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }))
  stopped = false
  window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY }
  if (command.type === 'price') {
    const { only, each, thinkMs, exercises } = command
    await Promise.all(
      taking.map(async (l) => {
        if (!l.workspace) await actions.open(l, exercises)
        if (only === 'grade' && !l.lastRun) await actions.simulate(l)
      })
    )
    window = { from: performance.now(), to: Number.POSITIVE_INFINITY }
    process.send?.({ type: 'measuring' })
    await Promise.all(
      taking.map(async (l) => {
        for (let i = 0; i < each; i++) {
          if (thinkMs > 0) await sleep(exponential(thinkMs))
          await timed(only, () => actions[only](l, exercises))
        }
      })
    )
    window.to = performance.now()
    process.send?.({ type: 'done', report: report() })
    return
  }
  const loops = taking.map(async (l, i) => {
    await sleep((i / taking.length) * command.rampMs)
    // A learner's failure is counted, never the generator's end.
    await lesson(l, command.exercises, command.thinkMs ?? PLAN.thinkMs).catch((err: Error) => {
      statuses.failed++
      if (samples.length < 10) samples.push(`learner ${l.index}: ${err.message}`)
    })
  })
  running = Promise.all(loops)
  await sleep(command.rampMs)
  window = { from: performance.now(), to: performance.now() + command.windowMs }
  process.send?.({ type: 'measuring' })
  await sleep(command.windowMs)
  stopped = true
  window.to = Math.min(window.to, performance.now())
  process.send?.({ type: 'done', report: report() })
})
