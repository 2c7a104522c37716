import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Catalogue } from '../src/domain/components.ts'
import { EngineBudgetError } from '../src/domain/engine.ts'
import type { Derivation, ExplainSubject } from '../src/domain/explain.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import type { DesignPreview } from '../src/domain/preview.ts'
import { createEnginePool, EngineBusyError, type EnginePool, EngineTimeoutError } from '../src/engine/pool.ts'
import { PreviewBusy, PreviewTooLarge } from '../src/errors.ts'

export type PreviewRefusal = 'too_large' | 'busy'

export interface PreviewStats {
  threads: number
  busy: number
  queued: number
  served: number
  refused: Record<PreviewRefusal, number>
  /** Queue waits of the previews handed to a thread: their sum and count (a summary). */
  waitSeconds: { sum: number; count: number }
}

declare module 'fastify' {
  interface FastifyInstance {
    previews: {
      /**
       * A valid design's preview on a preview thread, within its budget (422 past it, 503 when the
       * threads stay busy); `down`: components a what-if left with nothing.
       */
      run(design: Design, traffic: TrafficProfile, down?: string[]): Promise<DesignPreview>
      /** A run's figure's derivation on a preview thread, within the preview's budget (issue 38). */
      explain(
        design: Design,
        traffic: TrafficProfile,
        seed: number,
        subject: ExplainSubject
      ): Promise<Derivation | null>
      stats(): PreviewStats
    }
  }
}

export interface EnginePluginOptions {
  threads: number
  maxSteps: number
  timeoutMs: number
  queueWaitMs: number
  /** The component types the threads read designs with (default: the domain's). */
  catalogue?: Catalogue
}

/**
 * The api's engine threads, for previews: the engine never runs on the event loop, so a large
 * design cannot hold up other requests or the health probes. The threads start with the first
 * preview (most api processes in tests never ask for one).
 */
async function enginePlugin(fastify: FastifyInstance, opts: EnginePluginOptions) {
  if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new Error('engine plugin: threads must be ≥ 1')
  if (!(Number.isInteger(opts.maxSteps) && opts.maxSteps >= 1)) throw new Error('engine plugin: maxSteps must be ≥ 1')
  const waitSeconds = { sum: 0, count: 0 }
  const refused: Record<PreviewRefusal, number> = { too_large: 0, busy: 0 }
  let served = 0
  let pool: EnginePool | null = null
  const started = () => {
    pool ??= createEnginePool(opts.threads, {
      timeoutMs: opts.timeoutMs,
      maxQueueWaitMs: opts.queueWaitMs,
      // One at a time per thread: a preview's wait ends when its thread starts it.
      pipelineDepth: 1,
      catalogue: opts.catalogue,
      onDispatch(waitMs) {
        waitSeconds.sum += waitMs / 1000
        waitSeconds.count++
      }
    })
    return pool
  }

  fastify.decorate('previews', {
    async run(design: Design, traffic: TrafficProfile, down: string[] = []) {
      try {
        const preview = await started().preview(design, traffic, opts.maxSteps, down)
        served++
        return preview
      } catch (err) {
        if (err instanceof EngineBudgetError || err instanceof EngineTimeoutError) {
          refused.too_large++
          throw PreviewTooLarge(opts.maxSteps)
        }
        if (err instanceof EngineBusyError) {
          refused.busy++
          throw PreviewBusy()
        }
        throw err
      }
    },
    async explain(design: Design, traffic: TrafficProfile, seed: number, subject: ExplainSubject) {
      try {
        return await started().explain(design, traffic, seed, subject, opts.maxSteps)
      } catch (err) {
        if (err instanceof EngineBudgetError || err instanceof EngineTimeoutError) throw PreviewTooLarge(opts.maxSteps)
        if (err instanceof EngineBusyError) throw PreviewBusy()
        throw err
      }
    },
    stats: (): PreviewStats => ({
      threads: opts.threads,
      ...(pool?.load() ?? { busy: 0, queued: 0 }),
      served,
      refused: { ...refused },
      waitSeconds: { ...waitSeconds }
    })
  })
  fastify.addHook('onClose', async function stopEngineThreads() {
    await pool?.close()
  })
}

export default fp(enginePlugin, { name: 'engine', fastify: '5.x' })
