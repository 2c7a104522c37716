import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import fp from 'fastify-plugin'
import { anchorAuditChain, sealAuditLog } from '../src/audit/chain.ts'
import {
  REFUSAL_ROWS_PER_CLIENT_MINUTE,
  REFUSAL_ROWS_PER_MINUTE,
  RefusalCounts,
  refusalClient
} from '../src/audit/refusals.ts'
import { scrub } from '../src/audit/scrub.ts'
import { type AuditOutcome, type AuditRecord, insertAudit } from '../src/audit/store.ts'
import type { Fragment, Sql, TransactionSql } from '../src/db/client.ts'
import { pathOf } from '../src/paths.ts'
import { appendRouteHook } from '../src/route-hooks.ts'

export interface AuditDeclaration {
  action: string
  resourceType: string
}

export interface AuditEntry {
  action?: string
  resourceType?: string | null
  resourceId?: string | null
  userId?: string | null
  statusCode?: number
  outcome?: AuditOutcome
  changes?: unknown
  /** The organisation a class route acted in (issue 40). */
  organisationId?: string | null
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every mutating route declares what its audit rows say. */
    audit?: AuditDeclaration
    /** Instead, a POST that changes nothing says why it writes no audit row (it is counted and rate-limited). */
    unaudited?: string
  }
  interface FastifyRequest {
    /**
     * This request's audit row, in the caller's transaction (or on the pool, for security events):
     * awaited, it is written; handed to a store, it leads the store's own statement
     * (`with audit_row as (${audit}) update …`), so neither commits without the other.
     */
    audit(db: Sql | TransactionSql, entry?: AuditEntry): Fragment
    audited: boolean
    /** The audited route's handler ran: a refusal before it changed nothing, and is counted, not written. */
    reachedHandler: boolean
  }
  interface FastifyInstance {
    /** Refusals counted instead of written (app.audit_refusals; sdc_audit_refusals_total). */
    auditRefusals: RefusalCounts
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
function outcomeOf(statusCode: number): NonNullable<AuditEntry['outcome']> {
  if (statusCode < 400) return 'success'
  if (statusCode === 401 || statusCode === 403 || statusCode === 423 || statusCode === 429) return 'denied'
  return statusCode >= 500 ? 'error' : 'failure'
}

/** The body's size as sent, when the client said. */
function bodyBytes(request: FastifyRequest): number | null {
  const length = Number(request.headers['content-length'])
  return Number.isSafeInteger(length) ? length : null
}

export function auditRow(request: FastifyRequest, entry: AuditEntry, statusCode: number): AuditRecord {
  const declared = request.routeOptions.config.audit
  return {
    request_id: request.id,
    user_id: entry.userId !== undefined ? entry.userId : request.userId,
    action: entry.action ?? declared?.action ?? 'unknown',
    resource_type: entry.resourceType !== undefined ? entry.resourceType : (declared?.resourceType ?? null),
    resource_id: entry.resourceId ?? (request.params as Record<string, string> | undefined)?.id ?? null,
    method: request.method,
    path: pathOf(request.url).slice(0, 500),
    status_code: entry.statusCode ?? statusCode,
    outcome: entry.outcome ?? outcomeOf(entry.statusCode ?? statusCode),
    changes: entry.changes !== undefined ? scrub(entry.changes) : scrub(request.body ?? null, bodyBytes(request)),
    ip_address: request.ip,
    user_agent: (request.headers['user-agent'] ?? '').slice(0, 500) || null,
    trace_id: request.traceIds?.traceId ?? null,
    organisation_id: entry.organisationId ?? null
  }
}

/** The route of a request no route matched (a 404, or its 429), as in the metrics. */
const UNMATCHED = '__unmatched__'

/** Audit rows written for refusals this minute, per client and in all (one minute held at a time). */
class RefusalRowBudget {
  private minuteMs = 0
  private total = 0
  private readonly used = new Map<string, number>()

  take(minuteMs: number, client: string): boolean {
    if (minuteMs !== this.minuteMs) {
      this.minuteMs = minuteMs
      this.total = 0
      this.used.clear()
    }
    const used = this.used.get(client) ?? 0
    if (used >= REFUSAL_ROWS_PER_CLIENT_MINUTE || this.total >= REFUSAL_ROWS_PER_MINUTE) return false
    this.used.set(client, used + 1)
    this.total++
    return true
  }
}

export interface AuditPluginOptions {
  /** AUDIT_HMAC_KEY: when set, the sealer anchors the chain's head with an HMAC under it. */
  hmacKey?: string
}

async function auditPlugin(fastify: FastifyInstance, opts: AuditPluginOptions) {
  if (opts.hmacKey !== undefined && opts.hmacKey.length < 32)
    throw new Error('audit plugin: hmacKey must be at least 32 characters')
  fastify.addHook('onRoute', function requireAuditDeclaration(route) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some((m) => MUTATING.has(m)) || route.config?.unaudited) return
    const audit = route.config?.audit
    if (!audit?.action || !audit.resourceType) {
      throw new Error(
        `mutating route ${methods.join(',')} ${route.url} must declare config.audit { action, resourceType }`
      )
    }
  })
  // Only routes that declare an audit action have a refusal (or an audited read) to record.
  fastify.addHook('onRoute', function auditDeclaredRoutes(route) {
    if (!route.config?.audit) return
    const handler = route.handler
    // The handler itself says it ran: no hook can (a later one, idempotency's, may still refuse).
    route.handler = function markReached(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      request.reachedHandler = true
      return handler.call(this, request, reply)
    } as RouteHandlerMethod
    appendRouteHook(route, 'onResponse', auditAfterResponse)
  })

  const refusals = new RefusalCounts(fastify.sql, (msg, err) =>
    fastify.log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, msg)
  )
  fastify.decorate('auditRefusals', refusals)
  const budget = new RefusalRowBudget()
  // The app's clock (tests move it), when there is one.
  const now = fastify.hasDecorator('clock') ? () => fastify.clock() : () => new Date()
  const minuteOf = () => Math.floor(now().getTime() / 60_000) * 60_000
  const countRefusal = (request: FastifyRequest, route: string, status: number) =>
    refusals.count(minuteOf(), refusalClient(request.ip), route, status)
  const counter = setInterval(() => void refusals.flush(), 1000)
  counter.unref()
  fastify.addHook('onClose', async function flushRefusalsOnClose() {
    clearInterval(counter)
    await refusals.flush()
  })
  // Unknown URLs are refusals that reached no route at all: counted like the rest.
  fastify.addHook('onResponse', function countUnmatched(request: FastifyRequest, reply: FastifyReply, done) {
    if (request.is404) countRefusal(request, UNMATCHED, reply.statusCode)
    done()
  })

  // Rows are written unsealed (writers never wait for each other); this links them into the
  // hash chain within a second. Any number of instances may run it: one seals at a time.
  let sealing: Promise<unknown> | null = null
  const seal = () => {
    sealing ??= sealAuditLog(fastify.sql)
      .then(() => (opts.hmacKey ? anchorAuditChain(fastify.sql, opts.hmacKey) : null))
      .catch((err: Error) => fastify.log.warn({ err: { message: err.message } }, 'audit sealing failed; retrying'))
      .finally(() => {
        sealing = null
      })
    return sealing
  }
  const sealer = setInterval(seal, 1000)
  sealer.unref()
  fastify.addHook('onClose', async function sealOnClose() {
    clearInterval(sealer)
    await seal()
  })

  fastify.decorateRequest('audited', false)
  fastify.decorateRequest('reachedHandler', false)
  // A success row stands for the request: the hook below then writes none of its own.
  const recordsSuccess = (entry: AuditEntry) => ['success', 'replayed'].includes(entry.outcome ?? 'success')
  fastify.decorateRequest('audit', function audit(this: FastifyRequest, db, entry = {}) {
    // Marked before the statement runs: if it fails, the transaction rolls back and the reply is
    // an error, which the hook below records as a refusal all the same.
    if (recordsSuccess(entry)) this.audited = true
    return insertAudit(db, auditRow(this, entry, entry.statusCode ?? 200))
  })

  // Refused and failed mutations, and audited reads (admin), are recorded after the response;
  // they never delay it.
  function auditAfterResponse(request: FastifyRequest, reply: FastifyReply, done: () => void) {
    done()
    // A 2xx means the route's transaction, audit row included, committed. A 4xx/5xx rolled it
    // back (or never wrote one), so the refusal gets its own row here.
    if (request.audited && reply.statusCode < 400) return
    if (reply.statusCode >= 400) {
      const route = request.routeOptions.url ?? UNMATCHED
      // Refused before its handler (401, 403, 413, 415, 429, a body failing its schema): nothing
      // changed, so it is counted. An anonymous client's refusals (failed logins) are written up
      // to a budget a minute, then counted.
      if (!request.reachedHandler) return countRefusal(request, route, reply.statusCode)
      if (request.routeOptions.config.auth === 'public' && !budget.take(minuteOf(), refusalClient(request.ip))) {
        return countRefusal(request, route, reply.statusCode)
      }
    }
    if (MUTATING.has(request.method) && reply.statusCode < 400) {
      request.log.warn({ route: request.routeOptions.url }, 'successful mutation without an in-transaction audit row')
    }
    const changes = MUTATING.has(request.method) ? undefined : { query: request.query ?? null }
    insertAudit(fastify.sql, auditRow(request, { changes }, reply.statusCode)).catch((err) => {
      request.log.error({ err }, 'audit write after response failed')
    })
  }
}

export default fp(auditPlugin, { name: 'audit', dependencies: ['db', 'request-context'], fastify: '5.x' })
