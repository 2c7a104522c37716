// One engine thread: runs simulations posted by jobs/engine-pool.ts. The engine is pure, so a
// thread holds nothing between runs.
import { parentPort } from 'node:worker_threads'
import { simulateAndAnalyze } from '../src/domain/analysis.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'

interface Task {
  id: number
  design: Design
  traffic: TrafficProfile
  seed: number
}

parentPort?.on('message', (task: Task) => {
  try {
    parentPort?.postMessage({ id: task.id, result: simulateAndAnalyze(task.design, task.traffic, task.seed) })
  } catch (err) {
    const error = err as Error
    parentPort?.postMessage({ id: task.id, error: { name: error.name, message: error.message } })
  }
})

parentPort?.postMessage({ ready: true })
