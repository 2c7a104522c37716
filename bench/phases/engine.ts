import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { crossings, designAvailability, designCost, simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { createEngineCache, simulate } from '../../src/domain/engine.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { attackDesigns } from '../../test/helpers/pathological.ts'
import { chainDesign, featureDesign, type Phase } from '../lib/context.ts'
import { spawnNode } from '../lib/load.ts'
import { median, round } from '../lib/measure.ts'

/**
 * Runs `run` until V8 has compiled it for good (a second of runs, at least ten): a worker runs the
 * engine all day, so the figures are its steady state, not the first compilations of a new process.
 */
function warmUp(run: () => void, smoke: boolean) {
  const until = performance.now() + (smoke ? 0 : 1000)
  for (let i = 0; i < (smoke ? 1 : 10) || performance.now() < until; i++) run()
}

/** The engine's timings (what the phase reports), in the process that calls it. */
export function engineTimings(smoke: boolean): Record<string, unknown> {
  const engine: Record<string, unknown> = {}
  const traffic = { peakRps: 500, readRatio: 0.8, payloadKb: 4, latencySloMs: 300, arrivalCv: 1.5 }
  // Chains, and designs with every feature in use: splits, random balancing, variability, finite
  // queues, delays, network time, timeouts with retries, caches, replicas, queues and workers.
  for (const [name, design] of [
    ['components5', chainDesign(5)],
    ['components50', chainDesign(50)],
    ['components500', chainDesign(500)],
    ['features50', featureDesign(50)],
    ['features500', featureDesign(500)]
  ] as const) {
    const reps = smoke ? 1 : name.endsWith('500') ? 5 : 20
    // An engine thread keeps one cache across its runs (src/engine/thread.ts): so does the bench.
    const cache = createEngineCache()
    warmUp(() => simulate(design, traffic, { seed: reps, cache }), smoke)
    const t0 = performance.now()
    for (let i = 0; i < reps; i++) simulate(design, traffic, { seed: i, cache })
    engine[name] = { msPerSimulation: round((performance.now() - t0) / reps) }
  }
  // What a run stores beside its figures (sweep, failure scenarios, availability, cost, sizes),
  // and what a preview computes (the analytic figures at 2 000 paths, crossings, availability, cost).
  for (const [name, design] of [
    ['chain50', chainDesign(50)],
    ['features50', featureDesign(50)]
  ] as const) {
    const reps = smoke ? 1 : 3
    const cache = createEngineCache()
    warmUp(() => simulateAndAnalyze(design, traffic, 1, undefined, undefined, cache), smoke)
    let t0 = performance.now()
    for (let i = 0; i < reps; i++) simulateAndAnalyze(design, traffic, i, undefined, undefined, cache)
    const analysisMs = round((performance.now() - t0) / reps)
    const preview = () => {
      const r = simulate(design, traffic, {
        seed: 1,
        samples: 2000,
        timeoutSamples: { pass: 400, final: 800 },
        cache
      })
      return [crossings(design, traffic, r), designAvailability(design, traffic), designCost(design, traffic)]
    }
    warmUp(preview, smoke)
    t0 = performance.now()
    for (let i = 0; i < reps * 3; i++) preview()
    engine[`analysis${name[0].toUpperCase()}${name.slice(1)}`] = {
      msPerRunWithAnalysis: analysisMs,
      msPerPreview: round((performance.now() - t0) / (reps * 3))
    }
  }
  // The fuzzer's attack shapes: validation time for all, engine time for the ones accepted.
  const designs = attackDesigns(fc.sample(fc.integer(), 1)[0], smoke ? 8 : 60)
  const validateMs: number[] = []
  const runMs: number[] = []
  const attackCache = createEngineCache()
  for (const design of designs) {
    const t0 = performance.now()
    const problems = validateDesign(design)
    validateMs.push(performance.now() - t0)
    if (problems.length > 0) continue
    const t1 = performance.now()
    simulate(design, { ...traffic, peakRps: 1 }, { cache: attackCache })
    runMs.push(performance.now() - t1)
  }
  engine.attackDesigns = {
    designs: designs.length,
    accepted: runMs.length,
    worstValidationMs: round(Math.max(...validateMs)),
    worstRunMs: round(Math.max(0, ...runMs)),
    medianRunMs: round(median(runMs))
  }
  return engine
}

export const engine: Phase = {
  name: 'engine',
  async run(ctx) {
    ctx.log('engine: chains of 5, 50 and 500 components, designs using every feature, the worst an attacker can send')
    const engine = await timedInChild(ctx.smoke)
    ctx.log(`  ${JSON.stringify(engine)}`)
    return engine
  }
}

/**
 * Runs engineTimings in a process of its own pinned to core 0 (as every phase pins, with taskset):
 * not beside the bench's own garbage and timers, and on one core as a worker's engine thread is.
 */
function timedInChild(smoke: boolean): Promise<Record<string, unknown>> {
  const entry = fileURLToPath(new URL('../lib/engine-child.ts', import.meta.url))
  const child = spawnNode(entry, { ...process.env, BENCH_ENGINE_SMOKE: smoke ? '1' : '0' }, 0, true)
  child.stdout?.resume()
  return new Promise((resolve, reject) => {
    let figures: Record<string, unknown> | undefined
    child.once('message', (message: Record<string, unknown>) => {
      figures = message
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      figures ? resolve(figures) : reject(new Error(`the engine's timings exited (${code}) without figures`))
    )
  })
}
