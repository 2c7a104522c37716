// The project models itself: this deployment (the api's event loop and preview threads, the
// worker's engine threads, Postgres) as a design in its own queueing model (src/domain), each
// station's service time the CPU its actions were measured to cost, driven by a class of learners
// following the classroom's timetable. It predicts the learners sustained at the service levels
// and the bottleneck, for the measurement to be set beside.
import { simulate } from '../../src/domain/engine.ts'
import type { Design } from '../../src/domain/model.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { ACTIONS, type ActionName, SERVICE_LEVELS } from './classroom.ts'

/** CPU ms one action costs each part of the deployment. */
export interface ActionCost {
  /** The api's event loop (its main thread). */
  apiMainMs: number
  /** The api's other threads (the preview engine thread, argon2's pool, V8's background work). */
  apiOtherMs: number
  workerMs: number
  postgresMs: number
  /** The load generator's own (on a machine where it shares the servers' cores). */
  generatorMs?: number
}

export interface Deployment {
  apis: number
  workers: number
  /** Cores Postgres may use (its backends), and each worker's engine threads. */
  cores: number
  previewThreads: number
  engineThreads: number
}

export interface Prediction {
  /** Learners at which the busiest station reaches utilisation 1, and that station. */
  ceilingLearners: number
  bottleneck: string | null
  /** The largest class whose predicted p95s hold the service levels with no station saturated. */
  sustainedLearners: number
  /** At `sustainedLearners`: each station's utilisation and p95 (ms), and each service level's predicted p95. */
  atSustained: {
    stations: Record<string, { utilization: number; p95: number | null }>
    autosaveP95Ms: number
    previewP95Ms: number
    timeToResultP95Ms: number
  }
  design: Design
}

const clampMs = (ms: number) => Math.min(60_000, Math.max(0.01, ms))

/** A mixture's mean and coefficient of variation, each kind's service taken as exponential. */
function mixture(parts: { weight: number; ms: number }[]): { ms: number; cv: number } {
  const total = parts.reduce((s, p) => s + p.weight, 0)
  if (total <= 0) return { ms: 0.01, cv: 1 }
  const mean = parts.reduce((s, p) => s + p.weight * p.ms, 0) / total
  const second = parts.reduce((s, p) => s + p.weight * 2 * p.ms * p.ms, 0) / total
  const cv = mean > 0 ? Math.sqrt(Math.max(0, second / (mean * mean) - 1)) : 1
  return { ms: clampMs(mean), cv: Math.min(10, Math.round(cv * 100) / 100) }
}

/** The deployment as a design: learners → api (→ preview threads, → Postgres, → the job queue → workers). */
export function deploymentDesign(
  costs: Partial<Record<ActionName, ActionCost>>,
  rates: Record<ActionName, number>,
  d: Deployment
): Design {
  const kinds = (Object.keys(costs) as ActionName[]).filter((k) => rates[k] > 0)
  const all = kinds.reduce((s, k) => s + rates[k], 0)
  const jobs = kinds.filter((k) => ACTIONS[k].job)
  const jobRate = jobs.reduce((s, k) => s + rates[k], 0)
  const of = (ks: ActionName[], ms: (c: ActionCost) => number) =>
    mixture(ks.map((k) => ({ weight: rates[k], ms: ms(costs[k] as ActionCost) })))
  const api = of(kinds, (c) => c.apiMainMs)
  const postgres = of(kinds, (c) => c.postgresMs)
  const worker = of(jobs, (c) => c.workerMs)
  const preview = costs.preview ? clampMs(costs.preview.apiOtherMs) : 0.01
  const share = (x: number) => Math.min(1, Math.max(0.0001, x / all))
  return {
    components: [
      { id: 'learners', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'api', type: 'service', instances: d.apis, concurrency: 1, serviceTimeMs: api.ms, serviceTimeCv: api.cv },
      {
        id: 'preview-threads',
        type: 'service',
        instances: d.apis,
        concurrency: d.previewThreads,
        serviceTimeMs: preview
      },
      {
        id: 'postgres',
        type: 'database',
        instances: 1,
        concurrency: d.cores,
        serviceTimeMs: postgres.ms,
        serviceTimeCv: postgres.cv,
        replicas: 0
      },
      { id: 'job-queue', type: 'queue', instances: 1, concurrency: 1000, serviceTimeMs: 0.01 },
      {
        id: 'worker',
        type: 'worker',
        instances: d.workers,
        concurrency: d.engineThreads,
        serviceTimeMs: worker.ms,
        serviceTimeCv: worker.cv
      }
    ] as Design['components'],
    links: [
      { from: 'learners', to: 'api', share: 1 },
      { from: 'api', to: 'postgres', share: 1 },
      { from: 'api', to: 'preview-threads', share: share(rates.preview ?? 0) },
      { from: 'api', to: 'job-queue', share: share(jobRate) },
      { from: 'job-queue', to: 'worker', share: 1 }
    ]
  }
}

/** Learners per second of actions, by the timetable's rates (per minute). */
const actionsPerLearnerSecond = (costs: Partial<Record<ActionName, ActionCost>>, rates: Record<ActionName, number>) =>
  (Object.keys(costs) as ActionName[]).reduce((s, k) => s + rates[k], 0) / 60

/** What the model predicts of a class of `learners`. */
function at(design: Design, perLearner: number, learners: number) {
  const result = simulate(
    design,
    { peakRps: Math.max(0.001, learners * perLearner), readRatio: 0.5, payloadKb: 1, latencySloMs: 100 },
    { seed: 1, samples: 4000 }
  )
  const byId = Object.fromEntries(result.components.map((c) => [c.id, c]))
  const p95 = (id: string) => byId[id]?.p95LatencyMs ?? Number.POSITIVE_INFINITY
  const saturated = result.components.some((c) => c.saturated)
  return {
    result,
    saturated,
    autosave: p95('api') + p95('postgres'),
    preview: p95('api') + p95('preview-threads'),
    timeToResult: p95('api') + p95('worker') + p95('postgres')
  }
}

export function predict(
  costs: Partial<Record<ActionName, ActionCost>>,
  rates: Record<ActionName, number>,
  d: Deployment
): Prediction {
  const design = deploymentDesign(costs, rates, d)
  const problems = validateDesign(design)
  if (problems.length > 0) throw new Error(`self-model: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`)
  const perLearner = actionsPerLearnerSecond(costs, rates)
  const probe = at(design, perLearner, 1)
  const ceiling = Math.floor(probe.result.overall.maxSustainableRps / perLearner)
  const holds = (n: number) => {
    const f = at(design, perLearner, n)
    return (
      !f.saturated &&
      f.autosave <= SERVICE_LEVELS.autosaveP95Ms &&
      f.preview <= SERVICE_LEVELS.previewP95Ms &&
      f.timeToResult <= SERVICE_LEVELS.timeToResultP95Ms
    )
  }
  let lo = 0
  let hi = Math.max(1, ceiling)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (holds(mid)) lo = mid
    else hi = mid
  }
  const f = at(design, perLearner, Math.max(1, lo))
  const r1 = (x: number) => Math.round(x * 10) / 10
  return {
    ceilingLearners: ceiling,
    bottleneck: probe.result.overall.bottleneck,
    sustainedLearners: lo,
    atSustained: {
      stations: Object.fromEntries(
        f.result.components
          .filter((c) => c.id !== 'learners')
          .map((c) => [
            c.id,
            {
              utilization: Math.round(c.utilization * 1000) / 1000,
              p95: Number.isFinite(c.p95LatencyMs) ? r1(c.p95LatencyMs as number) : null
            }
          ])
      ),
      autosaveP95Ms: r1(f.autosave),
      previewP95Ms: r1(f.preview),
      timeToResultP95Ms: r1(f.timeToResult)
    },
    design
  }
}
