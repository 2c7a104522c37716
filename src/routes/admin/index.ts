import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { NotFound } from '../../errors.ts'
import { clearFailures } from '../auth/lockout.ts'
import { errorResponses, IdParams } from '../schemas.ts'

const adminRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/admin/users/:id/unlock',
    {
      config: { auth: 'admin', audit: { action: 'admin.user.unlock', resourceType: 'user' } },
      schema: {
        tags: ['admin'],
        params: IdParams,
        response: {
          200: Type.Object({ id: Type.String(), unlocked: Type.Boolean() }, { additionalProperties: false }),
          ...errorResponses(400, 401, 403, 404, 429)
        }
      }
    },
    async (request) => {
      const unlocked = await fastify.sql.begin(async (tx) => {
        const [user] = await tx<{ email_normalized: string }[]>`
          select email_normalized
          from app.users
          where id = ${request.params.id}
        `
        if (!user) return null
        const cleared = await clearFailures(tx, user.email_normalized)
        await request.audit(tx, { changes: { unlocked: cleared } })
        return cleared
      })
      if (unlocked === null) throw new NotFound('User')
      return { id: request.params.id, unlocked }
    }
  )
}

export default adminRoutes
