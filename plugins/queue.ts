import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { PgBoss } from 'pg-boss'
import { createBoss } from '../jobs/boss.ts'
import { prepareQueues } from '../jobs/queues.ts'

declare module 'fastify' {
  interface FastifyInstance {
    boss: PgBoss
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
  // Registered after the db plugin, so (onClose runs in reverse) pg-boss stops before the pool closes.
  fastify.addHook('onClose', async function stopQueue() {
    await boss.stop({ graceful: true, close: false, timeout: 5000 })
    fastify.log.info('queue stopped')
  })
}

export default fp(queuePlugin, { name: 'queue', dependencies: ['db'], fastify: '5.x' })
