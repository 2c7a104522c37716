import type { FastifyPluginAsync } from 'fastify'
import adminAuditRoutes from './audit.ts'
import adminJobRoutes from './jobs.ts'
import adminOperationsRoutes from './operations.ts'
import adminUserRoutes from './users.ts'

/** The admin API, by resource: users, the audit log, flags and telemetry, jobs. */
const adminRoutes: FastifyPluginAsync = async (fastify) => {
  await fastify.register(adminUserRoutes)
  await fastify.register(adminAuditRoutes)
  await fastify.register(adminOperationsRoutes)
  await fastify.register(adminJobRoutes)
}

export default adminRoutes
