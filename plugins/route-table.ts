import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { appendRouteHook } from '../src/route-hooks.ts'
import { bodyMayBeOmitted, noBodyIsEmptyObject, setLocation } from '../src/schemas.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered, for the authz walk, the audit walk and the generated docs. */
    routeTable: RouteEntry[]
  }
}

export interface RouteEntry {
  method: string
  url: string
  auth: string | undefined
  ownership: string | undefined
  audit: { action: string; resourceType: string } | undefined
  /** Why a mutating method writes no audit row (it changes nothing). */
  unaudited: string | undefined
  /** The route's schemas (params, querystring, body, response), for docs and the schema fuzzer. */
  schema: Record<string, unknown> | undefined
}

/**
 * What every route gets from its declaration: an optional body that may be omitted, a Location
 * for what it creates, and a row in the route table. Registered after the auth plugin, so each
 * row shows the declaration that plugin settled.
 */
async function routeTablePlugin(fastify: FastifyInstance) {
  fastify.decorate('routeTable', [])
  fastify.addHook('onRoute', function acceptOmittedBody(route) {
    if (bodyMayBeOmitted(route.schema?.body)) appendRouteHook(route, 'preValidation', noBodyIsEmptyObject)
  })
  fastify.addHook('onRoute', function locateCreated(route) {
    if (route.config?.location) appendRouteHook(route, 'preSerialization', setLocation)
  })
  fastify.addHook('onRoute', function recordRoute(route) {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      // HEAD routes mirror their GET (Fastify adds them); the GET row speaks for both.
      if (method === 'HEAD') continue
      fastify.routeTable.push({
        method,
        url: route.url,
        auth: route.config?.auth,
        ownership: route.config?.ownership,
        audit: route.config?.audit,
        unaudited: route.config?.unaudited,
        schema: route.schema as Record<string, unknown> | undefined
      })
    }
  })
}

export default fp(routeTablePlugin, { name: 'route-table', dependencies: ['auth'], fastify: '5.x' })
