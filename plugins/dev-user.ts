import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthUser } from './auth.ts'

/** The user every request is authenticated as when BYPASS_AUTH=true (development only). */
export const DEV_USER: AuthUser = Object.freeze({ id: '00000000-0000-4000-8000-000000000001', role: 'user' })

/** Registered only when BYPASS_AUTH is on: the development user's row, so its writes have an owner. */
async function devUserPlugin(fastify: FastifyInstance) {
  await fastify.sql`
    insert into app.users (id, email, email_normalized, display_name, password_hash, role)
    values (${DEV_USER.id}, 'dev@localhost', 'dev@localhost', 'Development user', '!', ${DEV_USER.role})
    on conflict (id) do nothing
  `
}

export default fp(devUserPlugin, { name: 'dev-user', dependencies: ['db'], fastify: '5.x' })
