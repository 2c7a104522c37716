import { context, ROOT_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { addressMatcher } from '../src/client-address.ts'
import { extractContext, type SpanDescription, startRequestTrace, tracingEnabled } from '../src/tracing.ts'

export interface TracingPluginOptions {
  /**
   * Peers whose `traceparent` is continued (TRUST_PROXY). A request from anyone else starts a
   * trace of its own: an outside client could otherwise force every request to be sampled, or
   * graft its requests onto someone else's trace.
   */
  trustedPeers: readonly string[]
}

const SPAN = Symbol('server span')
/** On a socket: whether its peer's traceparent is continued. */
const TRUSTED = Symbol('trusted peer')

/**
 * One server span per sampled request, named by its route template (`GET /workspaces/:id`),
 * with the status code, user id and request id; every request's trace id, sampled or not,
 * answers in `x-trace-id`. Registered only when tracing is on.
 */
async function tracingPlugin(fastify: FastifyInstance, opts: TracingPluginOptions) {
  if (!tracingEnabled()) throw new Error('tracing plugin: start tracing (src/tracing.ts) before registering it')
  // Every request carries the slot, sampled or not: a property added to the sampled tenth alone
  // would give requests two shapes, and every hook that reads one would see both (V8's inline
  // caches turn polymorphic, and the whole request path slows, not just the sampled ones).
  fastify.decorateRequest(SPAN, null)
  const matches = addressMatcher(opts.trustedPeers)
  // A keep-alive connection's peer does not change: asked once per socket, not per request, and
  // kept on the socket itself (a property read, where a WeakMap would hash the socket each time).
  const trusted = (socket: FastifyRequest['socket']) => {
    const holder = socket as unknown as Record<symbol, boolean | undefined>
    let known = holder[TRUSTED]
    if (known === undefined) {
      known = matches(socket.remoteAddress)
      holder[TRUSTED] = known
    }
    return known
  }
  // An unsampled request pays for this hook and its ids alone: no span, no context frame, no
  // listener, and no further hook on a route without a body.
  fastify.addHook('onRequest', function startServerSpan(request: FastifyRequest, reply: FastifyReply, done) {
    const parent = trusted(request.socket) ? extractContext(request.headers) : ROOT_CONTEXT
    const { span, ids } = startRequestTrace(() => describe(request), parent)
    request.traceIds = ids
    reply.header('x-trace-id', ids.traceId)
    if (!span) return done()
    ;(request as unknown as Record<symbol, Span>)[SPAN] = span
    // A client that goes away before the answer: its span ends marked so. A listener for the
    // sampled requests alone (an onRequestAbort hook would add one to every request); `on`, as
    // 'close' comes once, and `once` would pay for removing its wrapper.
    request.raw.on('close', () => {
      if (request.raw.aborted) end(request, null)
    })
    request.traceContext = trace.setSpan(parent, span)
    context.with(request.traceContext, done)
  })

  // A body is read outside the request's async context: the handler gets it back here. Only
  // routes whose method carries a body get this hook (a GET never leaves the context).
  const resumeTrace = function resumeTrace(request: FastifyRequest, _reply: FastifyReply, done: () => void) {
    // A request without a body never left it: no second frame then.
    if (request.traceContext && context.active() !== request.traceContext) context.with(request.traceContext, done)
    else done()
  }
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every((m) => WITHOUT_BODY.has(String(m).toUpperCase()))) return
    const own = route.preValidation
    route.preValidation = own ? [...(Array.isArray(own) ? own : [own]), resumeTrace] : [resumeTrace]
  })

  const end = (request: FastifyRequest, statusCode: number | null) => {
    const holder = request as unknown as Record<symbol, Span | undefined>
    const span = holder[SPAN]
    if (!span) return
    holder[SPAN] = undefined
    if (statusCode !== null) span.setAttribute('http.response.status_code', statusCode)
    else span.setAttribute('sdc.aborted', true)
    if (request.userId) span.setAttribute('enduser.id', request.userId)
    if (statusCode === null || statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
  }
  fastify.addHook('onResponse', function endServerSpan(request: FastifyRequest, reply: FastifyReply, done) {
    end(request, reply.statusCode)
    done()
  })
}

/** Methods whose requests carry no body: their routes need no context resumed after reading one. */
const WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A sampled request's server span: named by its route template, with its method, route and request id. */
function describe(request: FastifyRequest): SpanDescription {
  const route = request.routeOptions.url
  return {
    name: `${request.method} ${route ?? '(unmatched)'}`,
    attributes: {
      'http.request.method': request.method,
      ...(route ? { 'http.route': route } : {}),
      'sdc.request_id': request.id
    }
  }
}

export default fp(tracingPlugin, { name: 'tracing', dependencies: ['request-context'], fastify: '5.x' })
