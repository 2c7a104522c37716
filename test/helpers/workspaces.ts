import type { FastifyInstance } from 'fastify'
import type { DesignDocument, TrafficProfile } from '../../src/domain/schemas.ts'
import { bearer, type TestUser } from './users.ts'

/** POST /workspaces as `user`, with any other `headers` (an idempotency key): the raw answer (a test may expect it refused). */
export const postWorkspace = (
  app: FastifyInstance,
  user: TestUser,
  body: { name: string; description?: string; design: DesignDocument; trafficProfile?: TrafficProfile },
  headers: Record<string, string> = {}
) => app.inject({ method: 'POST', url: '/workspaces', headers: { ...bearer(user), ...headers }, payload: body })

/** POST /workspaces/:id/preview as `user`, of the stored design unless a draft is given. */
export const postPreview = (app: FastifyInstance, user: TestUser, workspaceId: string, body: object = {}) =>
  app.inject({ method: 'POST', url: `/workspaces/${workspaceId}/preview`, headers: bearer(user), payload: body })
