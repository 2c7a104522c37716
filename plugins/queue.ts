import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PgBoss } from 'pg-boss'
import { createBoss } from '../src/queue/boss.ts'
import type { QueueDefinition } from '../src/queue/jobs.ts'
import { prepareQueues, queueNames } from '../src/queue/queues.ts'
import { createWaker } from '../src/queue/wake.ts'

declare module 'fastify' {
  interface FastifyInstance {
    boss: PgBoss
    /** Every queue's name and its dead-letter queue's, as the registry lists them (jobs/registry.ts). */
    queueNames: readonly string[]
  }
  interface FastifyRequest {
    /** The queue this request enqueued a job on: its workers are woken once the response is sent (after the commit). */
    enqueuedOn: string | null
  }
}

export interface QueuePluginOptions {
  queues: readonly QueueDefinition[]
}

async function queuePlugin(fastify: FastifyInstance, opts: QueuePluginOptions) {
  await prepareQueues(fastify.sql, opts.queues)
  fastify.decorate('queueNames', queueNames(opts.queues))
  const boss = createBoss(fastify.sql, {
    role: 'api',
    onError: (err) => fastify.log.error({ err }, 'queue error')
  })
  await boss.start()
  fastify.decorate('boss', boss)
  const wake = createWaker(fastify.sql, (err) => fastify.log.warn({ err }, 'waking the workers failed'))
  fastify.decorateRequest('enqueuedOn', null)
  fastify.addHook('onResponse', function wakeWorkers(request, reply, done) {
    if (request.enqueuedOn !== null && reply.statusCode < 300) wake(request.enqueuedOn)
    done()
  })
  // Registered after the db plugin, so (onClose runs in reverse) pg-boss stops before the pool closes.
  fastify.addHook('onClose', async function stopQueue() {
    await boss.stop({ graceful: true, close: false, timeout: 5000 })
    fastify.log.info('queue stopped')
  })
}

export default fp(queuePlugin, { name: 'queue', dependencies: ['db'], fastify: '5.x' })
