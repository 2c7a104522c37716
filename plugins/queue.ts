import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PgBoss } from 'pg-boss'
import { createBoss } from '../jobs/boss.ts'
import { prepareQueues } from '../jobs/queues.ts'
import { createWaker } from '../jobs/wake.ts'

declare module 'fastify' {
  interface FastifyInstance {
    boss: PgBoss
  }
  interface FastifyRequest {
    /** The queue this request enqueued a job on: its workers are woken once the response is sent (after the commit). */
    enqueuedOn: string | null
  }
}

async function queuePlugin(fastify: FastifyInstance) {
  await prepareQueues(fastify.sql)
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
