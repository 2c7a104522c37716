import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createSql, type Sql } from '../src/db/client.ts'

declare module 'fastify' {
  interface FastifyInstance {
    sql: Sql
  }
}

export interface DbPluginOptions {
  url: string | undefined
  poolMax?: number
  connectTimeoutSeconds?: number
  statementTimeoutMs?: number
  applicationName?: string
  /** Refuse an unpatched postgres.js (production). */
  requirePatchedDriver?: boolean
}

async function dbPlugin(fastify: FastifyInstance, opts: DbPluginOptions) {
  if (!opts.url) throw new Error('db plugin: a database url is required')
  const sql = createSql(opts.url, {
    max: opts.poolMax,
    connectTimeoutSeconds: opts.connectTimeoutSeconds,
    statementTimeoutMs: opts.statementTimeoutMs,
    applicationName: opts.applicationName ?? 'sdc-api',
    requirePatchedDriver: opts.requirePatchedDriver
  })
  fastify.decorate('sql', sql)
  fastify.addHook('onClose', async function closePool() {
    await sql.end({ timeout: 5 })
    fastify.log.info('database pool closed')
  })
}

export default fp(dbPlugin, { name: 'db', fastify: '5.x' })
