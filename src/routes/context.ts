import type { FastifyRequest } from 'fastify'
import type { DbContext } from '../db/context.ts'

/**
 * The context a route's transaction acts for (src/db/context.ts): the signed-in user, or no one.
 * The row-level security policies on workspaces, runs and grades read it (migration 0035).
 */
export const acting = (request: FastifyRequest): DbContext => ({ userId: request.user?.id ?? null })
