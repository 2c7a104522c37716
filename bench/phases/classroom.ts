// `npm run bench -- --only classroom`: how many learners one deployment serves, and what gives out
// first. Learners follow the timetable of bench/lib/classroom.ts from loopback addresses of their
// own (bench/lib/classroom-child.ts, a process of its own). First each action is priced alone (CPU
// of the api, the worker and Postgres from /proc, per action, after an unmeasured pass that lets the
// JIT compile); from the timetable's rates the class each part could carry follows. A closed-loop
// run at 0.7 of that (the coach's headroom rule) then measures what a learner-minute costs each part
// at steady load, with the api's production limits on; from those costs the limit follows, and the
// class sustained (0.7 of it, the same rule) is confirmed by one run at that size and one at 1.5× it, which must
// break. The self-model predicts the same from the per-action prices; the 1.5× class runs again on 2
// api and 2 worker processes.
import type { ChildProcess } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { hashPassword } from '../../src/accounts/accounts.ts'
import type { Forked } from '../../test/helpers/process.ts'
import { startWorker, stopProcess } from '../../test/helpers/stack.ts'
import {
  ACTION_NAMES,
  ACTIONS,
  type ActionName,
  type GeneratorCommand,
  type GeneratorReport,
  learnerAddress,
  nominalRates,
  PLAN,
  SERVICE_LEVELS
} from '../lib/classroom.ts'
import type { BenchContext, Phase } from '../lib/context.ts'
import { mainThreadCpuUs, processCpuUs } from '../lib/cpu.ts'
import { spawnNode } from '../lib/load.ts'
import { round } from '../lib/measure.ts'
import { type ActionCost, predict } from '../lib/self-model.ts'
import { type Server, startServer } from '../lib/servers.ts'

const PASSWORD = 'classroom password long enough'
/** The coach's own headroom rule (grading: utilisation ≤ 0.7 at peak): the class that measures steady costs. */
const HEADROOM = 0.7
/**
 * The class sustained, as a share of the limit steady costs give: the coach's own headroom rule,
 * so that 1.5× it (1.05× the limit) is past what the box can carry and must break the service
 * levels. At 0.6, 1.5× it (0.9× the limit) sat on the knee and held; at 0.8 the sustained class
 * itself once missed its autosave p95 (124 ms) on two cores the api, the worker, Postgres and
 * the generator share.
 */
const SUSTAINED = HEADROOM

/** How many of each action a learner does while it is priced (48 learners at once). */
const EACH: Partial<Record<ActionName, number>> = { open: 8, autosave: 30, listRuns: 40, preview: 4 }

/** The generator process: commands in, a report out once the window closes. */
class Generator {
  readonly child: ChildProcess
  constructor(cpu: string | null) {
    this.child = spawnNode(
      fileURLToPath(new URL('../lib/classroom-child.ts', import.meta.url)),
      process.env,
      null,
      true
    )
    if (cpu !== null) pin(this.child.pid as number, cpu)
  }
  /** Sends a command; `onMeasuring` runs when the window opens (CPU snapshots are taken there). */
  send(command: GeneratorCommand, onMeasuring?: () => void): Promise<GeneratorReport & { signedIn?: number }> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the classroom generator exited (${code})`))
      const onMessage = (message: { type: string; report?: GeneratorReport; signedIn?: number }) => {
        if (message.type === 'measuring') return onMeasuring?.()
        this.child.off('message', onMessage)
        this.child.off('exit', onExit)
        resolve({ ...(message.report as GeneratorReport), signedIn: message.signedIn })
      }
      this.child.once('exit', onExit)
      this.child.on('message', onMessage)
      this.child.send(command)
    })
  }
  stop() {
    this.child.kill('SIGKILL')
  }
}

/** Pins a running process and all its threads (and, for Postgres, its backends) to `cpus`. */
function pin(pid: number, cpuList: string) {
  try {
    execFileSync('taskset', ['-a', '-cp', cpuList, String(pid)], { stdio: 'ignore' })
  } catch {}
}

function descendants(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
    return [...kids, ...kids.flatMap(descendants)]
  } catch {
    return []
  }
}

/** The processes whose CPU a run reads: api(s), worker(s), Postgres (its whole tree), the generator. */
interface Processes {
  apis: number[]
  workers: number[]
  generator: number
}

type Snapshot = { apiMain: number; apiAll: number; worker: number; postgres: number; generator: number }

function snapshot(ctx: BenchContext, p: Processes): Snapshot {
  const sum = (pids: number[], read: (pid: number) => number) => pids.reduce((s, pid) => s + read(pid), 0)
  return {
    apiMain: sum(p.apis, mainThreadCpuUs),
    apiAll: sum(p.apis, processCpuUs),
    worker: sum(p.workers, processCpuUs),
    postgres: ctx.dbCpu(),
    generator: processCpuUs(p.generator)
  }
}

const minus = (a: Snapshot, b: Snapshot): Snapshot => ({
  apiMain: a.apiMain - b.apiMain,
  apiAll: a.apiAll - b.apiAll,
  worker: a.worker - b.worker,
  postgres: a.postgres - b.postgres,
  generator: a.generator - b.generator
})

/** Sends a run and reads every process's CPU over its measured window. */
async function measured(ctx: BenchContext, gen: Generator, p: Processes, command: GeneratorCommand) {
  let before: Snapshot | null = null
  let at = 0
  const report = await gen.send(command, () => {
    before = snapshot(ctx, p)
    at = performance.now()
  })
  const start = before ?? snapshot(ctx, p)
  const cpuUs = minus(snapshot(ctx, p), start)
  const seconds = before ? (performance.now() - at) / 1000 : report.windowSeconds
  return { report, cpuUs, seconds }
}

/** A closed-loop class: its service levels, and each process's CPU per learner-minute and busy cores. */
function classFigures(learners: number, run: Awaited<ReturnType<typeof measured>>, cores: number) {
  const { report, cpuUs, seconds } = run
  const minutes = (learners * seconds) / 60
  const perLearnerMinute = (us: number) => round(us / 1000 / Math.max(1e-9, minutes), 1)
  const busy = (us: number) => round(us / 1e6 / Math.max(1e-9, seconds), 2)
  const p95 = (k: ActionName) => report.actions[k]?.p95 ?? null
  const levels = {
    autosaveP95Ms: p95('autosave'),
    previewP95Ms: p95('preview'),
    timeToResultP95Ms: p95('simulate'),
    serverErrors: report.statuses.serverError + report.statuses.failed
  }
  const holds =
    levels.serverErrors === 0 &&
    (levels.autosaveP95Ms ?? Number.POSITIVE_INFINITY) <= SERVICE_LEVELS.autosaveP95Ms &&
    (levels.previewP95Ms ?? Number.POSITIVE_INFINITY) <= SERVICE_LEVELS.previewP95Ms &&
    (levels.timeToResultP95Ms ?? Number.POSITIVE_INFINITY) <= SERVICE_LEVELS.timeToResultP95Ms
  const cores_ = {
    apiMain: busy(cpuUs.apiMain),
    apiOther: busy(cpuUs.apiAll - cpuUs.apiMain),
    worker: busy(cpuUs.worker),
    postgres: busy(cpuUs.postgres),
    generator: busy(cpuUs.generator)
  }
  const box = round(cores_.apiMain + cores_.apiOther + cores_.worker + cores_.postgres + cores_.generator, 2)
  // What gave out: the part busiest against what it may use (the api's event loop one core a process).
  return {
    learners,
    windowSeconds: round(seconds, 1),
    holds,
    levels,
    actions: report.actions,
    requests: report.requests,
    requestsPerSec: round(report.requests / Math.max(1e-9, seconds), 1),
    statuses: report.statuses,
    ...(report.samples.length ? { samples: report.samples.slice(0, 5) } : {}),
    cpuMsPerLearnerMinute: {
      api: perLearnerMinute(cpuUs.apiAll),
      worker: perLearnerMinute(cpuUs.worker),
      postgres: perLearnerMinute(cpuUs.postgres),
      generator: perLearnerMinute(cpuUs.generator)
    },
    busyCores: { ...cores_, box, of: cores }
  }
}

export const classroom: Phase = {
  name: 'classroom',
  async run(ctx) {
    const cores = cpus().length
    const smoke = ctx.smoke
    ctx.log(`classroom: learners on loopback addresses of their own, ${cores} cores`)
    const costLearners = smoke ? 3 : 48
    const maxLearners = smoke ? 6 : 4000
    // With cores to spare the generator gets the last one and the servers the rest; on 2 cores all share both.
    const spare = cores >= 4
    const serverCpus = spare ? `0-${cores - 2}` : null
    const generatorCpu = spare ? String(cores - 1) : null
    const hash = await hashPassword(PASSWORD)
    let made = 0
    const learnersUpTo = async (n: number) => {
      if (n <= made) return
      await ctx.sql`
        insert into app.users (email, email_normalized, display_name, password_hash, role)
        select 'class-' || g || '@example.com', 'class-' || g || '@example.com', 'Learner ' || g, ${hash}, 'user'
        from generate_series(${made}::int, ${n - 1}::int) g
      `
      made = n
    }
    const learnerSpecs = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        email: `class-${i}@example.com`,
        password: PASSWORD,
        address: learnerAddress(i)
      }))
    // The api as production runs it (its per-address and per-user limits and quotas at their
    // defaults), and one with them lifted for pricing actions back to back from a few learners.
    const limited: Record<string, string> = {}
    for (const [k, v] of Object.entries(ctx.env)) if (!/^(RATE_LIMIT|AUTH_RATE_LIMIT|QUOTA_)/.test(k)) limited[k] = v
    const servers: Server[] = []
    const workers: Forked[] = []
    const startApi = async (env: Record<string, string>) => {
      const server = await startServer('full', env, null)
      servers.push(server)
      if (serverCpus) pin(server.pid, serverCpus)
      return server
    }
    const startJobs = async () => {
      const worker = await startWorker({ ...ctx.env, LOG_LEVEL: 'info', WORKER_SUPERVISE_INTERVAL_SECONDS: '15' }, [
        '--queues',
        'simulation,grading,export'
      ])
      workers.push(worker)
      if (serverCpus) pin(worker.child.pid as number, serverCpus)
      return worker
    }
    if (serverCpus) for (const pid of [ctx.postmaster, ...descendants(ctx.postmaster)]) pin(pid, serverCpus)
    const gen = new Generator(generatorCpu)
    try {
      const pricing = await startApi(ctx.env)
      const worker = await startJobs()
      const processes = (apis: Server[], ws: Forked[]): Processes => ({
        apis: apis.map((s) => s.pid),
        workers: ws.map((w) => w.child.pid as number),
        generator: gen.child.pid as number
      })
      const one = processes([pricing], [worker])
      // Exercises once they are served (GET /exercises), else a workspace of the learner's own.
      await learnersUpTo(costLearners)
      const probe = await ctx.post(`${pricing.address}/auth/login`, {
        email: 'class-0@example.com',
        password: PASSWORD
      })
      const exercises =
        (await fetch(`${pricing.address}/exercises`, {
          headers: { authorization: `Bearer ${probe.body.accessToken}` }
        }).then((r) => r.status)) === 200

      // Pricing: each action alone, a fixed number from each learner, every one of them inside the window.
      const costs: Partial<Record<ActionName, ActionCost>> = {}
      const priced: Record<string, unknown> = {}
      const price = (kind: ActionName, count: number, cpuUs: Snapshot) => {
        const per = (us: number) => round(us / 1000 / Math.max(1, count), 3)
        costs[kind] = {
          apiMainMs: per(cpuUs.apiMain),
          apiOtherMs: per(cpuUs.apiAll - cpuUs.apiMain),
          workerMs: per(cpuUs.worker),
          postgresMs: per(cpuUs.postgres),
          generatorMs: per(cpuUs.generator)
        }
      }
      {
        const before = snapshot(ctx, one)
        const signIn = await gen.send({
          type: 'signIn',
          urls: [pricing.address],
          learners: learnerSpecs(costLearners),
          concurrency: 4
        })
        price('signIn', signIn.actions.signIn?.count ?? 0, minus(snapshot(ctx, one), before))
        priced.signIn = { ...signIn.actions.signIn, statuses: signIn.statuses }
      }
      // An unmeasured pass first: a fresh api compiles as it serves, and compiling is CPU too.
      for (const kind of ACTION_NAMES.filter((k) => k !== 'signIn')) {
        await gen.send({
          type: 'price',
          urls: [pricing.address],
          learners: costLearners,
          only: kind,
          each: smoke ? 1 : 2,
          thinkMs: kind === 'preview' ? (smoke ? 50 : 200) : 0,
          exercises
        })
      }
      for (const kind of ACTION_NAMES.filter((k) => k !== 'signIn')) {
        const { report, cpuUs } = await measured(ctx, gen, one, {
          type: 'price',
          urls: [pricing.address],
          learners: costLearners,
          only: kind,
          each: smoke ? 2 : (EACH[kind] ?? 4),
          // Previews a second apart: 60 a minute per user.
          thinkMs: kind === 'preview' ? (smoke ? 200 : 1100) : 0,
          exercises
        })
        const figures = report.actions[kind]
        price(kind, figures?.count ?? 0, cpuUs)
        priced[kind] = {
          ...figures,
          statuses: report.statuses,
          ...(report.samples.length ? { samples: report.samples.slice(0, 3) } : {})
        }
        ctx.log(`  ${kind}: ${JSON.stringify(costs[kind])} ms CPU an action, ${figures?.count ?? 0} in the window`)
      }

      // What each part could carry: its capacity over the class's demand, per learner-minute.
      const rates = nominalRates()
      const demand = (part: (c: ActionCost) => number, kinds: ActionName[] = ACTION_NAMES) =>
        kinds.reduce((s, k) => s + rates[k] * part(costs[k] as ActionCost), 0)
      const engineThreads = cores
      const previewThreads = 1
      const minuteMs = 60_000
      // What the processes spend with no learner at all (pg-boss polling, supervisors, telemetry
      // flushes, Postgres's own): the cores a class can have are what is left.
      const idleStart = snapshot(ctx, one)
      const idleSeconds = smoke ? 1 : 5
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
      const idleUs = minus(snapshot(ctx, one), idleStart)
      const idle = (us: number) => us / 1e6 / idleSeconds
      const background = {
        apiMain: round(idle(idleUs.apiMain), 3),
        apiAll: round(idle(idleUs.apiAll), 3),
        worker: round(idle(idleUs.worker), 3),
        postgres: round(idle(idleUs.postgres), 3)
      }
      const left = (capacity: number, used: number) => Math.max(0.05, capacity - used)
      // Where the generator shares the cores, the box's line counts what it spends too.
      const box = spare ? 'api, worker and Postgres' : 'api, worker, Postgres and the load generator'
      const resources = {
        'api event loop': { capacity: left(1, background.apiMain), demand: demand((c) => c.apiMainMs) },
        'api preview thread': { capacity: previewThreads, demand: demand((c) => c.apiOtherMs, ['preview']) },
        worker: { capacity: left(engineThreads, background.worker), demand: demand((c) => c.workerMs) },
        postgres: { capacity: left(cores, background.postgres), demand: demand((c) => c.postgresMs) },
        [`the box (${cores} cores: ${box})`]: {
          capacity: left(cores, background.apiAll + background.worker + background.postgres),
          demand: demand(
            (c) => c.apiMainMs + c.apiOtherMs + c.workerMs + c.postgresMs + (spare ? 0 : (c.generatorMs ?? 0))
          )
        }
      }
      const ceilings = Object.fromEntries(
        Object.entries(resources).map(([name, r]) => [
          name,
          {
            cpuMsPerLearnerMinute: round(r.demand, 2),
            cores: round(r.capacity, 2),
            learners: Math.floor((r.capacity * minuteMs) / Math.max(1e-9, r.demand))
          }
        ])
      )
      const [pricedFirst, first] = Object.entries(ceilings).sort((a, b) => a[1].learners - b[1].learners)[0]
      const calibrating = Math.max(2, Math.min(maxLearners, Math.floor(first.learners * HEADROOM)))
      ctx.log(`  priced: ${pricedFirst} saturates first at ${first.learners} learners; measuring ${calibrating}`)

      // The self-model, of this deployment and of 2 api + 2 worker processes.
      const deployment = { apis: 1, workers: 1, cores, previewThreads, engineThreads }
      const model = predict(costs, rates, deployment)
      const modelTwo = predict(costs, rates, { ...deployment, apis: 2, workers: 2 })

      // Production limits from here on. A class signs in: its learners' first sign-in is timed.
      await stopServer(pricing, servers)
      const api = await startApi(limited)
      const signInUpTo = async (n: number) => {
        await learnersUpTo(n)
        const started = performance.now()
        const signIn = await gen.send({
          type: 'signIn',
          urls: [api.address],
          learners: learnerSpecs(n),
          concurrency: 32
        })
        return {
          learners: signIn.signedIn ?? 0,
          seconds: round((performance.now() - started) / 1000, 1),
          ...signIn.actions.signIn,
          statuses: signIn.statuses
        }
      }
      const run = (n: number, apis: Server[], ws: Forked[], windowMs = 30_000) =>
        measured(ctx, gen, processes(apis, ws), {
          type: 'run',
          urls: apis.map((a) => a.address),
          learners: n,
          rampMs: smoke ? 500 : 10_000,
          windowMs: smoke ? 2500 : windowMs,
          exercises,
          ...(smoke ? { thinkMs: 300 } : {})
        })
      // A new api compiles as it serves: each set of processes gets an unmeasured run first.
      const warm = (n: number, apis: Server[]) =>
        gen.send({
          type: 'run',
          urls: apis.map((a) => a.address),
          learners: n,
          rampMs: smoke ? 200 : 3000,
          windowMs: smoke ? 500 : 10_000,
          exercises,
          ...(smoke ? { thinkMs: 300 } : {})
        })
      await signInUpTo(calibrating)
      await ctx.settle()
      await warm(calibrating, [api])
      // Steady costs: a learner-minute of the timetable, per part, in a closed-loop class.
      const calibrationRun = await run(calibrating, [api], [worker], 20_000)
      const calibration = classFigures(calibrating, calibrationRun, cores)
      const steady = steadyCeilings(calibrating, calibrationRun, background, {
        engineThreads,
        previewThreads,
        cores,
        spare
      })
      const [saturatesFirst, limit] = Object.entries(steady).sort((a, b) => a[1].learners - b[1].learners)[0]
      const computed = Math.max(2, Math.min(maxLearners, Math.floor(limit.learners * SUSTAINED)))
      ctx.log(`  steady: ${saturatesFirst} saturates first at ${limit.learners} learners; confirming ${computed}`)
      const classSignIn = await signInUpTo(Math.ceil(computed * 1.5))
      // The class sustained is one measured to hold: should the computed class miss a service
      // level (the cores' speed moves between runs on a shared machine), a class a fifth smaller
      // is run, twice at most. The class at 1.5× is 1.5× the one that held.
      const tried: ReturnType<typeof classFigures>[] = []
      let sustained = computed
      for (;;) {
        const figures = classFigures(sustained, await run(sustained, [api], [worker]), cores)
        tried.push(figures)
        ctx.log(`  ${sustained} learners: ${JSON.stringify(figures.levels)} holds ${figures.holds}`)
        if (figures.holds || tried.length === 3 || sustained <= 2) break
        sustained = Math.max(2, Math.floor(sustained * 0.8))
      }
      const atComputed = tried[tried.length - 1]
      const over = Math.ceil(sustained * 1.5)
      const atOver = classFigures(over, await run(over, [api], [worker]), cores)
      ctx.log(`  ${over} learners: ${JSON.stringify(atOver.levels)} holds ${atOver.holds}`)
      // 2 api + 2 worker processes on the same cores: contention, not scale, on a small machine.
      const api2 = await startApi(limited)
      const worker2 = await startJobs()
      await warm(over, [api, api2])
      const scaleOut = classFigures(over, await run(over, [api, api2], [worker, worker2]), cores)
      ctx.log(`  2 api + 2 workers, ${over} learners: ${JSON.stringify(scaleOut.levels)} holds ${scaleOut.holds}`)

      const slim = (p: ReturnType<typeof predict>) => ({ ...p, design: undefined })
      return {
        cores,
        generatorPinned: spare,
        exercises,
        plan: PLAN,
        ratesPerLearnerMinute: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, round(v, 3)])),
        actions: Object.fromEntries(ACTION_NAMES.map((k) => [k, { ...ACTIONS[k] }])),
        costs,
        priced,
        backgroundCores: background,
        ceilings,
        pricedFirst,
        headroom: HEADROOM,
        calibration,
        steadyCeilings: steady,
        saturatesFirst,
        sustainedShare: SUSTAINED,
        largestClass: maxLearners,
        computedLearners: computed,
        sustainedLearners: sustained,
        classSignIn,
        runs: { computed: atComputed, over: atOver, ...(tried.length > 1 ? { missed: tried.slice(0, -1) } : {}) },
        scaleOut,
        model: { one: slim(model), two: slim(modelTwo), design: model.design }
      }
    } finally {
      gen.stop()
      for (const server of servers) await server.stop().catch(() => {})
      for (const w of workers) await stopProcess(w).catch(() => {})
      await ctx.sql`delete from pgboss.job where name in ('simulation', 'grading', 'export')`
    }
  }
}

/**
 * Each part's limit from a closed-loop class's busy cores: what it spends grows with the class above
 * what it spends idle, so the limit is where that reaches the cores the part may use.
 */
function steadyCeilings(
  learners: number,
  run: Awaited<ReturnType<typeof measured>>,
  idle: { apiMain: number; apiAll: number; worker: number; postgres: number },
  d: { engineThreads: number; previewThreads: number; cores: number; spare: boolean }
) {
  const { cpuUs, seconds } = run
  const busy = (us: number) => us / 1e6 / Math.max(1e-9, seconds)
  const part = (cores: number, usedUs: number, background: number) => {
    const perLearner = Math.max(1e-9, busy(usedUs) - background) / learners
    return {
      cpuMsPerLearnerMinute: round(perLearner * 60_000, 2),
      cores: round(cores - background, 2),
      learners: Math.floor(Math.max(0.05, cores - background) / perLearner)
    }
  }
  const apiOther = cpuUs.apiAll - cpuUs.apiMain
  const box = cpuUs.apiAll + cpuUs.worker + cpuUs.postgres + (d.spare ? 0 : cpuUs.generator)
  return {
    'api event loop': part(1, cpuUs.apiMain, idle.apiMain),
    'api other threads': part(d.previewThreads, apiOther, Math.max(0, idle.apiAll - idle.apiMain)),
    worker: part(d.engineThreads, cpuUs.worker, idle.worker),
    postgres: part(d.cores, cpuUs.postgres, idle.postgres),
    [`the box (${d.cores} cores)`]: part(d.cores, box, idle.apiAll + idle.worker + idle.postgres)
  }
}

async function stopServer(server: Server, list: Server[]) {
  await server.stop()
  list.splice(list.indexOf(server), 1)
}
