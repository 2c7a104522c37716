import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { hashPassword } from '../../src/accounts/accounts.ts'
import { insertUser } from '../../src/accounts/users.ts'

export const PASSWORD = 'correct horse battery staple'

export interface TestUser {
  id: string
  email: string
  accessToken: string
  refreshToken: string
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.com`
}

/** Registers through the API and logs in. */
export async function registerAndLogin(app: FastifyInstance, email = uniqueEmail()): Promise<TestUser> {
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: PASSWORD, displayName: 'Test User' }
  })
  if (reg.statusCode !== 201) throw new Error(`register failed: ${reg.statusCode} ${reg.body}`)
  return login(app, email)
}

export async function login(app: FastifyInstance, email: string, password = PASSWORD): Promise<TestUser> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  return { id: body.user.id, email, accessToken: body.accessToken, refreshToken: body.refreshToken }
}

/** Creates an admin directly in the database (the CLI's path), then logs in through the API. */
export async function createAdmin(app: FastifyInstance, email = uniqueEmail('admin')): Promise<TestUser> {
  await insertUser(app.sql, { email, passwordHash: await hashPassword(PASSWORD), role: 'admin', displayName: 'Admin' })
  return login(app, email)
}

export function bearer(user: TestUser): Record<string, string> {
  return { authorization: `Bearer ${user.accessToken}` }
}
