import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { clearFailures } from '../../accounts/lockout.ts'
import { disableUser, enableUser, userEmail } from '../../accounts/users.ts'
import { NotFound } from '../../errors.ts'
import { errorResponses, IdParams } from '../../schemas.ts'

const adminUserRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
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
        const email = await userEmail(tx, request.params.id)
        if (email === null) return null
        const cleared = await clearFailures(tx, email)
        await request.audit(tx, { changes: { unlocked: cleared } })
        return cleared
      })
      if (unlocked === null) throw new NotFound('User')
      return { id: request.params.id, unlocked }
    }
  )

  for (const action of ['disable', 'enable'] as const) {
    fastify.post(
      `/admin/users/:id/${action}`,
      {
        config: { auth: 'admin', audit: { action: `admin.user.${action}`, resourceType: 'user' } },
        schema: {
          tags: ['admin'],
          params: IdParams,
          response: {
            200: Type.Object({ id: Type.String(), disabled: Type.Boolean() }, { additionalProperties: false }),
            ...errorResponses(400, 401, 403, 404, 429)
          }
        }
      },
      async (request) => {
        const id = request.params.id
        const found = await fastify.sql.begin(async (tx) => {
          const changed = action === 'disable' ? await disableUser(tx, id) : await enableUser(tx, id)
          if (changed) await request.audit(tx, { changes: { disabled: action === 'disable' } })
          return changed
        })
        if (!found) throw new NotFound('User')
        fastify.tokens.forget(id)
        return { id, disabled: action === 'disable' }
      }
    )
  }
}

export default adminUserRoutes
