import { Worker } from 'node:worker_threads'
import type { SimulationResult } from '../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'

interface Pending {
  id: number
  design: Design
  traffic: TrafficProfile
  seed: number
  resolve: (result: SimulationResult) => void
  reject: (err: Error) => void
}

interface Slot {
  thread: Worker
  /** Posted to the thread and not answered yet, oldest first. */
  tasks: Pending[]
}

/**
 * Runs posted to a thread ahead of its answers: the next one is already waiting in the thread when
 * a run ends, so the thread does not sit idle until this (busy) main thread hands it another.
 */
const PIPELINE_DEPTH = 2

export interface EnginePool {
  readonly size: number
  /** Runs one simulation on a free thread (queued while all are busy). */
  run(design: Design, traffic: TrafficProfile, seed: number): Promise<SimulationResult>
  close(): Promise<void>
}

/**
 * Simulations on worker threads, so a worker process uses every core it has: the main thread
 * keeps to the database and pg-boss while the threads compute. A thread that dies fails its runs
 * (their jobs are retried) and is replaced.
 */
export function createEnginePool(size: number): EnginePool {
  if (!(Number.isInteger(size) && size >= 1)) throw new Error('engine pool: size must be a positive integer')
  const queue: Pending[] = []
  const slots: Slot[] = []
  let nextId = 1
  let closed = false

  const dispatch = () => {
    for (let depth = 1; depth <= PIPELINE_DEPTH; depth++) {
      for (const slot of slots) {
        if (slot.tasks.length >= depth || queue.length === 0) continue
        const task = queue.shift() as Pending
        slot.tasks.push(task)
        slot.thread.postMessage({ id: task.id, design: task.design, traffic: task.traffic, seed: task.seed })
      }
    }
  }

  const spawnSlot = (): Slot => {
    const slot: Slot = { thread: new Worker(new URL('./engine-thread.ts', import.meta.url)), tasks: [] }
    // A thread answers its runs in the order they were posted.
    slot.thread.on(
      'message',
      (message: { id: number; result?: SimulationResult; error?: { name: string; message: string } }) => {
        const task = slot.tasks[0]
        if (!task || task.id !== message.id) return
        slot.tasks.shift()
        if (message.error) task.reject(Object.assign(new Error(message.error.message), { name: message.error.name }))
        else task.resolve(message.result as SimulationResult)
        dispatch()
      }
    )
    slot.thread.on('error', (err) => {
      for (const task of slot.tasks.splice(0)) task.reject(err)
    })
    slot.thread.on('exit', () => {
      for (const task of slot.tasks.splice(0)) task.reject(new Error('engine thread exited'))
      if (closed) return
      slots[slots.indexOf(slot)] = spawnSlot()
      dispatch()
    })
    return slot
  }
  for (let i = 0; i < size; i++) slots.push(spawnSlot())

  return {
    size,
    run(design, traffic, seed) {
      if (closed) return Promise.reject(new Error('engine pool is closed'))
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, design, traffic, seed, resolve, reject })
        dispatch()
      })
    },
    async close() {
      closed = true
      for (const task of queue.splice(0)) task.reject(new Error('engine pool is closed'))
      await Promise.all(slots.map((slot) => slot.thread.terminate()))
    }
  }
}
