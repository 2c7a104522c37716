import { Worker } from 'node:worker_threads'
import type { SimulationResult } from '../src/domain/engine.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'

interface Pending {
  id: number
  design: Design
  traffic: TrafficProfile
  seed: number
  signal?: AbortSignal
  resolve: (result: SimulationResult) => void
  reject: (err: Error) => void
}

interface Slot {
  thread: Worker
  /** Posted to the thread and not answered yet, oldest first. */
  tasks: Pending[]
  /** The deadline of the run the thread is computing (the oldest task). */
  timer: NodeJS.Timeout | null
  /** Loaded and listening: a deadline counts from the run's start, never the thread's start-up. */
  ready: boolean
  /** Terminated for running past its deadline: its exit is expected. */
  retired: boolean
}

/** A run that went past the pool's deadline: its thread was terminated. Retrying would do the same. */
export class EngineTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the simulation ran longer than ${timeoutMs} ms and was stopped`)
    this.name = 'EngineTimeoutError'
  }
}

/**
 * Runs posted to a thread ahead of its answers: the next one is already waiting in the thread when
 * a run ends, so the thread does not sit idle until this (busy) main thread hands it another.
 */
const PIPELINE_DEPTH = 2

export interface EnginePoolOptions {
  /** Wall-clock limit of one run, from the moment its thread starts it. */
  timeoutMs: number
}

export interface EnginePool {
  readonly size: number
  /** Runs one simulation on a free thread (queued while all are busy); an aborted signal drops a queued run. */
  run(design: Design, traffic: TrafficProfile, seed: number, signal?: AbortSignal): Promise<SimulationResult>
  close(): Promise<void>
}

/**
 * Simulations on worker threads, so a worker process uses every core it has: the main thread
 * keeps to the database and pg-boss while the threads compute. A thread that dies fails its runs
 * (their jobs are retried) and is replaced; a run past its deadline fails with EngineTimeoutError,
 * its thread is terminated and replaced, and the runs pipelined behind it go back to the queue.
 */
export function createEnginePool(size: number, options: EnginePoolOptions = { timeoutMs: 5000 }): EnginePool {
  if (!(Number.isInteger(size) && size >= 1)) throw new Error('engine pool: size must be a positive integer')
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0))
    throw new Error('engine pool: timeoutMs must be a positive number')
  const queue: Pending[] = []
  const slots: Slot[] = []
  let nextId = 1
  let closed = false

  const armDeadline = (slot: Slot) => {
    if (slot.timer || slot.tasks.length === 0) return
    slot.timer = setTimeout(() => {
      slot.timer = null
      const late = slot.tasks.shift() as Pending
      // The runs behind it never started: they go back to the front of the queue.
      queue.unshift(...slot.tasks.splice(0))
      slot.retired = true
      void slot.thread.terminate()
      late.reject(new EngineTimeoutError(options.timeoutMs))
      if (!closed) slots[slots.indexOf(slot)] = spawnSlot()
      dispatch()
    }, options.timeoutMs)
  }

  const dispatch = () => {
    for (let depth = 1; depth <= PIPELINE_DEPTH; depth++) {
      for (const slot of slots) {
        if (!slot.ready || slot.retired || slot.tasks.length >= depth || queue.length === 0) continue
        const task = queue.shift() as Pending
        slot.tasks.push(task)
        slot.thread.postMessage({ id: task.id, design: task.design, traffic: task.traffic, seed: task.seed })
        armDeadline(slot)
      }
    }
  }

  const spawnSlot = (): Slot => {
    const slot: Slot = {
      thread: new Worker(new URL('./engine-thread.ts', import.meta.url)),
      tasks: [],
      timer: null,
      ready: false,
      retired: false
    }
    const settleAll = (err: Error) => {
      if (slot.timer) clearTimeout(slot.timer)
      slot.timer = null
      for (const task of slot.tasks.splice(0)) task.reject(err)
    }
    // A thread answers its runs in the order they were posted.
    slot.thread.on(
      'message',
      (message: { ready?: true; id: number; result?: SimulationResult; error?: { name: string; message: string } }) => {
        if (message.ready) {
          slot.ready = true
          dispatch()
          return
        }
        const task = slot.tasks[0]
        if (!task || task.id !== message.id) return
        slot.tasks.shift()
        if (slot.timer) clearTimeout(slot.timer)
        slot.timer = null
        armDeadline(slot)
        if (message.error) task.reject(Object.assign(new Error(message.error.message), { name: message.error.name }))
        else task.resolve(message.result as SimulationResult)
        dispatch()
      }
    )
    slot.thread.on('error', settleAll)
    slot.thread.on('exit', () => {
      settleAll(new Error('engine thread exited'))
      if (closed || slot.retired) return
      slots[slots.indexOf(slot)] = spawnSlot()
      dispatch()
    })
    return slot
  }
  for (let i = 0; i < size; i++) slots.push(spawnSlot())

  return {
    size,
    run(design, traffic, seed, signal) {
      if (closed) return Promise.reject(new Error('engine pool is closed'))
      if (signal?.aborted) return Promise.reject(signal.reason)
      return new Promise((resolve, reject) => {
        const task: Pending = { id: nextId++, design, traffic, seed, signal, resolve, reject }
        signal?.addEventListener(
          'abort',
          () => {
            const at = queue.indexOf(task)
            if (at >= 0) {
              queue.splice(at, 1)
              reject(signal.reason)
            }
          },
          { once: true }
        )
        queue.push(task)
        dispatch()
      })
    },
    async close() {
      closed = true
      for (const task of queue.splice(0)) task.reject(new Error('engine pool is closed'))
      for (const slot of slots) if (slot.timer) clearTimeout(slot.timer)
      await Promise.all(slots.map((slot) => slot.thread.terminate()))
    }
  }
}
