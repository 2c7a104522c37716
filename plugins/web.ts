import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface WebPluginOptions {
  /** The built app (web/dist): index.html and assets/ with hashed names. */
  root: string
}

// The app's own policy: scripts, styles and requests from this origin only, nothing inline, never
// framed. The JSON API keeps its `default-src 'none'`; these routes replace it.
export const WEB_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const ASSET_NAME = /^[A-Za-z0-9_-]+-[A-Z0-9]{8}\.(js|css)$/
const YEAR = 365 * 86400

/** Serves the learner's web app at `/` (index.html, never cached) and `/assets/*` (hashed, cached for a year). */
async function webPlugin(fastify: FastifyInstance, opts: WebPluginOptions) {
  if (!existsSync(join(opts.root, 'index.html'))) throw new Error(`web plugin: no index.html in ${opts.root}`)
  await fastify.register(fastifyStatic, { root: opts.root, serve: false, decorateReply: true, etag: true })

  // The app's pages: its start, where the verification email's link lands, and a share link's page
  // (its token in the path; every response's `Referrer-Policy: no-referrer` keeps it there).
  for (const url of ['/', '/verify-email', '/shared/:token']) {
    fastify.get(url, { config: { auth: 'public' }, schema: { hide: true } }, (_request, reply) => {
      reply.header('content-security-policy', WEB_CSP)
      reply.header('cache-control', 'no-cache')
      return reply.sendFile('index.html', { cacheControl: false })
    })
  }

  fastify.get<{ Params: { name: string } }>(
    '/assets/:name',
    { config: { auth: 'public' }, schema: { hide: true } },
    (request, reply) => {
      const { name } = request.params
      // Only names the build makes: nothing else under the root is reachable.
      if (!ASSET_NAME.test(name)) return reply.callNotFound()
      reply.header('content-security-policy', WEB_CSP)
      reply.header('cache-control', `public, max-age=${YEAR}, immutable`)
      return reply.sendFile(join('assets', name), { cacheControl: false })
    }
  )
}

export default fp(webPlugin, { name: 'web', fastify: '5.x' })
