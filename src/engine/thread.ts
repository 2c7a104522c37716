// One engine thread: runs the tasks posted by src/engine/pool.ts. The engine is pure: a thread
// keeps only the engine's cache between tasks (what runs of one design's structure reuse). Errors go back as data: a code the pool recognises, and a message.
import { parentPort, workerData } from 'node:worker_threads'
import { simulateAndAnalyze } from '../domain/analysis.ts'
import { CATALOGUE, type Catalogue } from '../domain/components.ts'
import { createEngineCache } from '../domain/engine.ts'
import { explain } from '../domain/explain.ts'
import { previewDesign } from '../domain/preview.ts'
import type { EngineTask } from './pool.ts'

/** The component types the pool was created with. */
const catalogue: Catalogue = (workerData as { catalogue?: Catalogue } | null)?.catalogue ?? CATALOGUE
const cache = createEngineCache()

function perform(task: EngineTask): unknown {
  if (task.kind === 'preview')
    return previewDesign(task.design, task.traffic, task.maxSteps, catalogue, cache, task.down)
  if (task.kind === 'explain')
    return explain(task.design, task.traffic, task.seed, task.subject, catalogue, task.maxSteps)
  return simulateAndAnalyze(task.design, task.traffic, task.seed, task.maxSteps, catalogue, cache)
}

parentPort?.on('message', ({ id, task }: { id: number; task: EngineTask }) => {
  try {
    parentPort?.postMessage({ id, result: perform(task) })
  } catch (err) {
    const error = err as Error & { code?: unknown; limit?: unknown }
    parentPort?.postMessage({
      id,
      error: {
        code: typeof error.code === 'string' ? error.code : 'ENGINE_ERROR',
        message: error.message,
        limit: typeof error.limit === 'number' ? error.limit : undefined
      }
    })
  }
})

parentPort?.postMessage({ ready: true })
