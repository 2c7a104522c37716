import { Worker } from 'node:worker_threads'
import type { Catalogue } from '../domain/components.ts'
import type { SimulationResult } from '../domain/engine.ts'
import { EngineBudgetError } from '../domain/engine.ts'
import type { Derivation, ExplainSubject } from '../domain/explain.ts'
import { DivergentDesignError } from '../domain/flows.ts'
import type { Design, TrafficProfile } from '../domain/model.ts'
import type { DesignPreview } from '../domain/preview.ts'

/** What a thread computes: a worker's run (with its analysis), or an api's preview under its budget. */
export type EngineTask =
  | { kind: 'run'; design: Design; traffic: TrafficProfile; seed: number; maxSteps?: number }
  | { kind: 'preview'; design: Design; traffic: TrafficProfile; maxSteps: number; down?: string[] }
  | {
      kind: 'explain'
      design: Design
      traffic: TrafficProfile
      seed: number
      subject: ExplainSubject
      maxSteps: number
    }

interface Pending {
  id: number
  task: EngineTask
  /** When it was queued (performance.now()), for its queue wait. */
  queuedAt: number
  /** Refuses it if no thread takes it within maxQueueWaitMs. */
  expiry: NodeJS.Timeout | null
  signal?: AbortSignal
  resolve: (result: unknown) => void
  reject: (err: Error) => void
}

interface Slot {
  thread: Worker
  /** Posted to the thread and not answered yet, oldest first. */
  tasks: Pending[]
  /** The deadline of the task the thread is computing (the oldest). */
  timer: NodeJS.Timeout | null
  /** Loaded and listening: a deadline counts from the task's start, never the thread's start-up. */
  ready: boolean
  /** Terminated for running past its deadline: its exit is expected. */
  retired: boolean
}

/** A task that went past the pool's deadline: its thread was terminated. Retrying would do the same. */
export class EngineTimeoutError extends Error {
  readonly code = 'ENGINE_TIMEOUT'
  constructor(timeoutMs: number) {
    super(`the simulation ran longer than ${timeoutMs} ms and was stopped`)
    this.name = 'EngineTimeoutError'
  }
}

/** Every thread stayed busy for as long as a task may wait: the caller may try again shortly. */
export class EngineBusyError extends Error {
  readonly code = 'ENGINE_BUSY'
  constructor(waitMs: number) {
    super(`every engine thread was busy for ${waitMs} ms`)
    this.name = 'EngineBusyError'
  }
}

/** An error the engine threw in a thread, rebuilt from its code: the class it had, where it has one. */
export function engineErrorFrom(error: { code: string; message: string; limit?: number }): Error {
  if (error.code === 'ENGINE_BUDGET') return new EngineBudgetError(error.limit)
  if (error.code === 'ENGINE_DIVERGENT') return new DivergentDesignError(error.message)
  return Object.assign(new Error(error.message), { code: error.code })
}

/** Errors that the same task would meet again on any thread: its job fails once, not retried. */
export const isPermanentEngineError = (err: unknown): err is Error =>
  ['ENGINE_TIMEOUT', 'ENGINE_BUDGET', 'ENGINE_DIVERGENT'].includes((err as { code?: unknown } | null)?.code as string)

export interface EnginePoolOptions {
  /** Wall-clock limit of one task, from the moment its thread starts it. */
  timeoutMs: number
  /** How long a task may wait for a thread before EngineBusyError (default: as long as it takes). */
  maxQueueWaitMs?: number
  /**
   * Tasks posted to a thread ahead of its answers (default 2): the next is already waiting in the
   * thread when one ends. 1 makes a task's queue wait end when it starts.
   */
  pipelineDepth?: number
  /** The step budget of each run (default LIMITS.engineSteps): past it, EngineBudgetError. */
  runMaxSteps?: number
  /** Called as a task is handed to a thread, with how long it waited. */
  onDispatch?: (waitMs: number) => void
  /** The component types the threads read designs with (default: the domain's CATALOGUE). */
  catalogue?: Catalogue
}

export interface EnginePool {
  readonly size: number
  /** Threads with a task, and tasks waiting for one. */
  load(): { busy: number; queued: number }
  /** Runs one simulation with its analysis on a free thread; an aborted signal drops a queued run. */
  run(design: Design, traffic: TrafficProfile, seed: number, signal?: AbortSignal): Promise<SimulationResult>
  /** Previews a valid design within `maxSteps` of engine work (else EngineBudgetError), `down` failing what meets them. */
  preview(design: Design, traffic: TrafficProfile, maxSteps: number, down?: string[]): Promise<DesignPreview>
  /** A run's figure's derivation, recomputed from its design, profile and seed (null: no such component). */
  explain(
    design: Design,
    traffic: TrafficProfile,
    seed: number,
    subject: ExplainSubject,
    maxSteps: number
  ): Promise<Derivation | null>
  close(): Promise<void>
}

/**
 * The engine on worker threads, so that neither an api's event loop nor a worker's database work
 * waits for it. A thread that dies fails its tasks and is replaced; a task past its deadline fails
 * with EngineTimeoutError, its thread is terminated and replaced, and the tasks pipelined behind it
 * go back to the queue.
 */
export function createEnginePool(size: number, options: EnginePoolOptions = { timeoutMs: 5000 }): EnginePool {
  if (!(Number.isInteger(size) && size >= 1)) throw new Error('engine pool: size must be a positive integer')
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0))
    throw new Error('engine pool: timeoutMs must be a positive number')
  const { maxQueueWaitMs, pipelineDepth = 2, onDispatch, runMaxSteps } = options
  if (maxQueueWaitMs !== undefined && !(Number.isFinite(maxQueueWaitMs) && maxQueueWaitMs >= 0))
    throw new Error('engine pool: maxQueueWaitMs must be a non-negative number')
  if (!(Number.isInteger(pipelineDepth) && pipelineDepth >= 1))
    throw new Error('engine pool: pipelineDepth must be a positive integer')
  const queue: Pending[] = []
  const slots: Slot[] = []
  let nextId = 1
  let closed = false

  const armDeadline = (slot: Slot) => {
    if (slot.timer || slot.tasks.length === 0) return
    slot.timer = setTimeout(() => {
      slot.timer = null
      const late = slot.tasks.shift() as Pending
      // The tasks behind it never started: they go back to the front of the queue.
      queue.unshift(...slot.tasks.splice(0))
      slot.retired = true
      void slot.thread.terminate()
      late.reject(new EngineTimeoutError(options.timeoutMs))
      if (!closed) slots[slots.indexOf(slot)] = spawnSlot()
      dispatch()
    }, options.timeoutMs)
  }

  const dispatch = () => {
    for (let depth = 1; depth <= pipelineDepth; depth++) {
      for (const slot of slots) {
        if (!slot.ready || slot.retired || slot.tasks.length >= depth || queue.length === 0) continue
        const pending = queue.shift() as Pending
        if (pending.expiry) clearTimeout(pending.expiry)
        pending.expiry = null
        onDispatch?.(performance.now() - pending.queuedAt)
        slot.tasks.push(pending)
        slot.thread.postMessage({ id: pending.id, task: pending.task })
        armDeadline(slot)
      }
    }
  }

  const spawnSlot = (): Slot => {
    const slot: Slot = {
      thread: new Worker(new URL('./thread.ts', import.meta.url), { workerData: { catalogue: options.catalogue } }),
      tasks: [],
      timer: null,
      ready: false,
      retired: false
    }
    const settleAll = (err: Error) => {
      if (slot.timer) clearTimeout(slot.timer)
      slot.timer = null
      for (const pending of slot.tasks.splice(0)) pending.reject(err)
    }
    // A thread answers its tasks in the order they were posted.
    slot.thread.on(
      'message',
      (message: {
        ready?: true
        id: number
        result?: unknown
        error?: { code: string; message: string; limit?: number }
      }) => {
        if (message.ready) {
          slot.ready = true
          dispatch()
          return
        }
        const pending = slot.tasks[0]
        if (!pending || pending.id !== message.id) return
        slot.tasks.shift()
        if (slot.timer) clearTimeout(slot.timer)
        slot.timer = null
        armDeadline(slot)
        if (message.error) pending.reject(engineErrorFrom(message.error))
        else pending.resolve(message.result)
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

  function submit(task: EngineTask, signal?: AbortSignal): Promise<unknown> {
    if (closed) return Promise.reject(new Error('engine pool is closed'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        id: nextId++,
        task,
        queuedAt: performance.now(),
        expiry: null,
        signal,
        resolve,
        reject
      }
      const leaveQueue = (err: Error) => {
        const at = queue.indexOf(pending)
        if (at < 0) return
        queue.splice(at, 1)
        if (pending.expiry) clearTimeout(pending.expiry)
        reject(err)
      }
      signal?.addEventListener('abort', () => leaveQueue(signal.reason), { once: true })
      // Threads that are starting are not busy: the wait counts while at least one is running.
      const expire = () => {
        if (slots.some((slot) => slot.ready && !slot.retired)) leaveQueue(new EngineBusyError(maxQueueWaitMs as number))
        else pending.expiry = setTimeout(expire, maxQueueWaitMs)
      }
      if (maxQueueWaitMs !== undefined) pending.expiry = setTimeout(expire, maxQueueWaitMs)
      queue.push(pending)
      dispatch()
    })
  }

  return {
    size,
    load: () => ({ busy: slots.filter((slot) => slot.tasks.length > 0).length, queued: queue.length }),
    run: (design, traffic, seed, signal) =>
      submit({ kind: 'run', design, traffic, seed, maxSteps: runMaxSteps }, signal) as Promise<SimulationResult>,
    preview: (design, traffic, maxSteps, down) =>
      submit({ kind: 'preview', design, traffic, maxSteps, down }) as Promise<DesignPreview>,
    explain: (design, traffic, seed, subject, maxSteps) =>
      submit({ kind: 'explain', design, traffic, seed, subject, maxSteps }) as Promise<Derivation | null>,
    async close() {
      closed = true
      for (const pending of queue.splice(0)) {
        if (pending.expiry) clearTimeout(pending.expiry)
        pending.reject(new Error('engine pool is closed'))
      }
      for (const slot of slots) if (slot.timer) clearTimeout(slot.timer)
      await Promise.all(slots.map((slot) => slot.thread.terminate()))
    }
  }
}
