import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { bodyMayBeOmitted } from '../src/schemas.ts'

type OpenApiBody = { required?: boolean; content?: Record<string, { schema?: unknown }> }

export const DOCS_PREFIX = '/docs'

export interface DocsPluginOptions {
  uiEnabled: boolean
  /** /openapi.json for anyone (OPENAPI_PUBLIC); otherwise not served at all. */
  documentPublic: boolean
  version: string
}

/** The OpenAPI document from the route schemas at /openapi.json; Swagger UI at /docs when enabled. */
async function docsPlugin(fastify: FastifyInstance, opts: DocsPluginOptions) {
  if (typeof opts.version !== 'string') throw new Error('docs plugin: version is required')
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'System Design Coach API',
        version: opts.version,
        description: 'Practise system design: workspaces, traffic profiles, simulations, grades and report exports.'
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }]
    },
    hideUntagged: false,
    // Public routes (health, register, login…) need no token: they say so instead of inheriting
    // the document's bearer requirement.
    transform: ({ schema, url, route }) => {
      const location = route.config?.location
      if (route.config?.auth !== 'public' && !location) return { schema, url }
      const documented: Record<string, unknown> = { ...schema }
      if (route.config?.auth === 'public') documented.security = []
      // A route that declares where its new resource is read answers with Location (src/schemas.ts).
      if (location && schema?.response) {
        const response = { ...(schema.response as Record<string, Record<string, unknown>>) }
        const description = `Where the new resource is read: ${location}{id}`
        for (const code of ['201', '202'])
          if (response[code])
            response[code] = { ...response[code], headers: { location: { type: 'string', description } } }
        documented.response = response
      }
      return { schema: documented, url }
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject
      // @fastify/swagger marks every body required; a body of optional fields may be left out.
      for (const operations of Object.values(document.openapiObject.paths ?? {})) {
        for (const operation of Object.values(operations ?? {}) as { requestBody?: OpenApiBody }[]) {
          const body = operation?.requestBody
          if (body && bodyMayBeOmitted(body.content?.['application/json']?.schema)) body.required = false
        }
      }
      return document.openapiObject
    }
  })
  if (opts.uiEnabled) {
    await fastify.register(swaggerUi, {
      routePrefix: DOCS_PREFIX,
      uiConfig: { validatorUrl: null },
      // Only the relaxations Swagger UI needs: its own scripts and styles, by hash; still no framing.
      staticCSP: true,
      transformStaticCSP: (header) =>
        header
          .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
          .replace(' validator.swagger.io', '')
          .replace(/ ?upgrade-insecure-requests;/, '')
    })
  }
  if (!opts.documentPublic) return
  fastify.get(
    '/openapi.json',
    { config: { auth: 'public' }, schema: { hide: true } },
    async function openapi(_request, reply) {
      reply.header('cache-control', 'no-cache')
      return fastify.swagger()
    }
  )
}

export default fp(docsPlugin, { name: 'docs', fastify: '5.x' })
