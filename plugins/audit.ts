import { createHmac } from 'node:crypto'
import { isIP } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import fp from 'fastify-plugin'
import { clientKey } from '../src/client-address.ts'
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
  outcome?: 'success' | 'failure' | 'denied' | 'error' | 'replayed'
  changes?: unknown
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every mutating route declares what its audit rows say. */
    audit?: AuditDeclaration
    /** Instead, a POST that changes nothing says why it writes no audit row (it is counted and rate-limited). */
    unaudited?: string
  }
  interface FastifyRequest {
    /** Writes this request's audit row with the caller's transaction (or pool, for security events). */
    audit(db: Sql | TransactionSql, entry?: AuditEntry): Promise<void>
    /**
     * This request's audit row as a `with` clause to put in front of the route's own statement
     * (`${request.auditWith(tx)} update …`): the change and its audit row are one statement, so
     * neither commits without the other, and the transaction has one statement fewer.
     */
    auditWith(db: Sql | TransactionSql, entry?: AuditEntry): Fragment
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
// Secrets, and the personal data a body carries (an address, a name): a row outlives its account (issue 32).
const SECRET_KEY = /pass(word)?|token|secret|authorization|cookie|e-?mail|display_?name/i

/** jsonb cannot hold U+0000 or a lone surrogate: a refused request's body is still recorded, with U+FFFD in their place. */
const storable = (text: string) => text.toWellFormed().replaceAll('\u0000', '\uFFFD')

/** What an audit row keeps of a body, at most: bytes of `changes` as Postgres prints the jsonb. */
export const CHANGES_MAX_BYTES = 4096
/** Items an array and keys an object keep; levels kept; characters a string keeps. */
const MAX_ITEMS = 50
const MAX_DEPTH = 6
const MAX_STRING = 2000
/** Keys named by a body too big to keep. */
const SUMMARY_KEYS = 10
/** A string whose JSON text is itself in quotes: no escapes, one byte a character. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const stringBytes = (text: string) => (PLAIN.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text)))

/** A number's bytes in the jsonb's text, an upper bound: Postgres prints 1e+21 in full (numeric). */
function numberBytes(n: number): number {
  if (!Number.isFinite(n)) return 4
  const text = String(n)
  const e = text.indexOf('e')
  return e < 0 ? text.length : e + Math.abs(Number(text.slice(e + 1))) + 2
}

/**
 * A copy within the limits, its jsonb text's bytes taken from `budget` as it goes (an estimate
 * that never falls short). Once the budget is spent it stops reading: a 20 000-key body costs
 * MAX_ITEMS keys, not 20 000.
 */
function bounded(value: unknown, depth: number, budget: { left: number }): unknown {
  if (budget.left < 0) return null
  if (depth > MAX_DEPTH) {
    budget.left -= 13
    return '[truncated]'
  }
  if (Array.isArray(value)) {
    budget.left -= 2
    const out: unknown[] = []
    const length = Math.min(value.length, MAX_ITEMS)
    for (let i = 0; i < length && budget.left >= 0; i++) {
      if (i > 0) budget.left -= 2
      out.push(bounded(value[i], depth + 1, budget))
    }
    return out
  }
  if (value && typeof value === 'object') {
    budget.left -= 2
    const out: Record<string, unknown> = {}
    let keys = 0
    // for…in, not Object.entries: it stops at the limit instead of copying every pair first.
    for (const key in value) {
      if (budget.left < 0) break
      if (!Object.hasOwn(value, key)) continue
      if (keys === MAX_ITEMS) {
        out['[truncated]'] = true
        budget.left -= 21
        break
      }
      const name = storable(key)
      budget.left -= stringBytes(name) + (keys > 0 ? 4 : 2)
      if (SECRET_KEY.test(key)) {
        out[name] = '[redacted]'
        budget.left -= 12
      } else out[name] = bounded((value as Record<string, unknown>)[key], depth + 1, budget)
      keys++
    }
    return out
  }
  if (typeof value === 'string') {
    const text = storable(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value)
    budget.left -= stringBytes(text)
    return text
  }
  if (typeof value === 'number') budget.left -= numberBytes(value)
  else budget.left -= value === false ? 5 : 4
  return value
}

/** What stands for a body too big to keep: its size as sent (Content-Length) and its first keys. */
function summary(value: unknown, bytes: number | null): Record<string, unknown> {
  const out: Record<string, unknown> = { '[truncated]': true, bytes }
  if (Array.isArray(value)) out.items = value.length
  else if (value && typeof value === 'object') {
    const keys: string[] = []
    for (const key in value) {
      if (keys.length === SUMMARY_KEYS) break
      if (Object.hasOwn(value, key)) keys.push(storable(key.slice(0, 40)))
    }
    out.keys = keys
  }
  return out
}

/**
 * The request body as stored in `changes`: secrets replaced, at most MAX_ITEMS keys or items
 * each, MAX_DEPTH levels and CHANGES_MAX_BYTES in all; past that, a summary instead
 * (`{"[truncated]": true, "bytes": …, "keys": […]}`). `bytes` is the body's size as sent, if known.
 */
export function scrub(value: unknown, bytes: number | null = null): unknown {
  const budget = { left: CHANGES_MAX_BYTES }
  const copy = bounded(value, 0, budget)
  return budget.left >= 0 ? copy : summary(value, bytes)
}

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

export function auditRow(request: FastifyRequest, entry: AuditEntry, statusCode: number) {
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
    changes: (entry.changes !== undefined
      ? scrub(entry.changes)
      : scrub(request.body ?? null, bodyBytes(request))) as never,
    ip_address: request.ip,
    user_agent: (request.headers['user-agent'] ?? '').slice(0, 500) || null,
    trace_id: request.traceIds?.traceId ?? null
  }
}

/** A row as stored: a request's (auditRow) or an operator's own (the CLI), with action and outcome at least. */
export type AuditRecord = Partial<ReturnType<typeof auditRow>> & Pick<ReturnType<typeof auditRow>, 'action' | 'outcome'>

/**
 * `changes` as a jsonb parameter, whatever JSON it is. Left to postgres.js, which types booleans
 * itself, a refused request's body of `true` (or `[true]`) went as a Postgres boolean, the insert
 * failed, and the refusal lost its audit row (found by the fuzzer once it counted logged errors).
 */
const changesOf = (db: Sql | TransactionSql, changes: unknown) =>
  changes === null || changes === undefined ? null : db.json(changes as never)

/**
 * The audit row's insert: one fixed statement (prepared once per connection), where the `db(row)`
 * helper built its text per call. Sent when awaited, or nested in another statement as a clause.
 */
export function insertAudit(db: Sql | TransactionSql, row: AuditRecord): Fragment {
  return db`
    insert into app.audit_log
      (request_id, user_id, action, resource_type, resource_id, method, path, status_code, outcome, changes,
       ip_address, user_agent, trace_id)
    values
      (${row.request_id ?? null}, ${row.user_id ?? null}, ${row.action}, ${row.resource_type ?? null},
       ${row.resource_id ?? null}, ${row.method ?? null}, ${row.path ?? null}, ${row.status_code ?? null},
       ${row.outcome}, ${changesOf(db, row.changes)}, ${row.ip_address ?? null}, ${row.user_agent ?? null},
       ${row.trace_id ?? null})
  `
}

/** Audit rows a client's refusals on public routes (failed logins above all) may write a minute, per api. */
export const REFUSAL_ROWS_PER_CLIENT_MINUTE = 10
/** And every client's together, per api: a flood from many addresses is counted, not written, too. */
export const REFUSAL_ROWS_PER_MINUTE = 600
/** Distinct (minute, client, route, status) counts held between flushes; past it a refusal is only in the metric. */
const MAX_PENDING_COUNTS = 10_000
/** The route of a request no route matched (a 404, or its 429), as in the metrics. */
const UNMATCHED = '__unmatched__'

/** The client as app.audit_refusals stores it: an IPv4 address or an IPv6 /64 (an unparsable address as 0.0.0.0). */
export function refusalClient(ip: string | undefined): string {
  const key = clientKey(ip ?? '')
  return isIP(key.endsWith('/64') ? key.slice(0, -3) : key) ? key : '0.0.0.0'
}

type PendingCount = [minuteMs: number, client: string, route: string, status: number, count: number]

/**
 * Refusals counted per minute, client, route and status, written with one upsert a second (and at
 * close): a flood of refused requests costs a statement a second and a row per client a minute,
 * never a row each. A failed upsert loses its counts (logged); `totals` (the metric) keeps them.
 */
export class RefusalCounts {
  private pending = new Map<string, PendingCount>()
  private readonly byRouteStatus = new Map<string, { route: string; status: number; count: number }>()
  private flushing: Promise<void> | null = null
  private lastDropLog = 0
  dropped = 0
  private readonly sql: Sql
  private readonly log: (msg: string, err: Error) => void

  constructor(sql: Sql, log: (msg: string, err: Error) => void) {
    this.sql = sql
    this.log = log
  }

  count(minuteMs: number, client: string, route: string, status: number): void {
    const series = `${status} ${route}`
    const total = this.byRouteStatus.get(series)
    if (total) total.count++
    else this.byRouteStatus.set(series, { route, status, count: 1 })
    const key = `${minuteMs}|${client}|${series}`
    const entry = this.pending.get(key)
    if (entry) entry[4]++
    else if (this.pending.size < MAX_PENDING_COUNTS) this.pending.set(key, [minuteMs, client, route, status, 1])
    else this.dropped++
  }

  /** Every refusal counted since start, by route pattern and status (bounded: the route table's patterns). */
  totals(): Iterable<{ route: string; status: number; count: number }> {
    return this.byRouteStatus.values()
  }

  /** Writes what is pending; concurrent callers share the flush in progress. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.pending.size === 0) return
    const batch = [...this.pending.values()]
    this.pending = new Map()
    this.flushing = this.upsert(batch).finally(() => {
      this.flushing = null
    })
    await this.flushing
  }

  private async upsert(batch: PendingCount[]): Promise<void> {
    try {
      // In key order, so two apis adding to the same rows lock them in the same order.
      await this.sql`
        insert into app.audit_refusals as r (minute, ip, route, status, count)
        select to_timestamp((e->>0)::float8 / 1000), (e->>1)::inet, e->>2, (e->>3)::integer, sum((e->>4)::integer)
        from jsonb_array_elements(${this.sql.json(batch as never)}) as e
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
        on conflict (minute, ip, route, status) do update
        set count = r.count + excluded.count
      `
    } catch (err) {
      this.dropped += batch.reduce((n, entry) => n + entry[4], 0)
      // One line per 10 s at most: a database outage must not flood the logs.
      if (Date.now() - this.lastDropLog > 10_000) {
        this.lastDropLog = Date.now()
        this.log(`audit refusal counts not written: ${this.dropped} refusal(s) lost in total`, err as Error)
      }
    }
  }
}

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
  fastify.decorateRequest('audit', async function audit(this: FastifyRequest, db, entry = {}) {
    await insertAudit(db, auditRow(this, entry, entry.statusCode ?? 200))
    if (recordsSuccess(entry)) this.audited = true
  })
  fastify.decorateRequest('auditWith', function auditWith(this: FastifyRequest, db, entry = {}) {
    // Marked before the statement runs: if it fails, the transaction rolls back and the reply is
    // an error, which the hook below records as a refusal all the same.
    if (recordsSuccess(entry)) this.audited = true
    return db`with audit_row as (${insertAudit(db, auditRow(this, entry, entry.statusCode ?? 200))})`
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

export type ChainVerdict =
  | { ok: true; rows: number; anchors: number; lastId: string | null; lastHash: string | null }
  | { ok: false; rows: number; brokenId: string; reason: string }

/** The HMAC of a chain position and its hash under the key kept outside the database. */
export const anchorMac = (key: string, seq: string, hash: string) =>
  createHmac('sha256', key).update(`${seq}|${hash}`).digest('hex')

/** Seconds between anchors while the chain grows: what a silent rewrite of the newest rows can hide in. */
export const ANCHOR_INTERVAL_SECONDS = 10

/** Anchors the chain's head when it moved past the last anchor and that anchor is old enough; returns whether it did. */
export async function anchorAuditChain(
  sql: Sql,
  key: string,
  minAgeSeconds = ANCHOR_INTERVAL_SECONDS
): Promise<boolean> {
  const [head] = await sql<{ seq: string; hash: string; due: boolean }[]>`
    select h.chain_seq::text as seq, h.hash,
           coalesce((select a.chain_seq < h.chain_seq and a.created_at < now() - make_interval(secs => ${minAgeSeconds})
                     from app.audit_anchors a order by a.chain_seq desc limit 1), true) as due
    from app.audit_log h
    where h.chain_seq is not null
    order by h.chain_seq desc
    limit 1
  `
  if (!head?.due) return false
  const rows = await sql`
    insert into app.audit_anchors (chain_seq, hash, mac)
    values (${head.seq}::bigint, ${head.hash}, ${anchorMac(key, head.seq, head.hash)})
    on conflict (chain_seq) do nothing
    returning chain_seq
  `
  return rows.length > 0
}

const GENESIS = '0'.repeat(64)

/** Links every unsealed row into the chain (the sealer also runs every second in each api). */
export async function sealAuditLog(sql: Sql | TransactionSql, batch = 5000): Promise<number> {
  let total = 0
  for (;;) {
    const [{ sealed }] = await sql<{ sealed: number }[]>`select app.seal_audit_log(${batch}) as sealed`
    total += sealed
    if (sealed < batch) return total
  }
}

/**
 * Seals what is pending, then recomputes the chain in order and checks it against its anchors
 * (their HMAC too, given the key); stops at the first row or anchor that does not fit.
 */
export async function verifyAuditChain(sql: Sql, { hmacKey }: { hmacKey?: string } = {}): Promise<ChainVerdict> {
  await sealAuditLog(sql)
  let rows = 0
  let anchors = 0
  let lastSeq = '0'
  let previous: { id: string; hash: string } | null = null
  // Anchors come in the same statement: the cursor holds its connection (the CLI has only one).
  const cursor = sql<
    {
      id: string
      seq: string
      prev_hash: string
      hash: string
      recomputed: string
      anchor_hash: string | null
      anchor_mac: string | null
    }[]
  >`
    select a.id::text as id, a.chain_seq::text as seq, a.prev_hash, a.hash, app.audit_hash(a.prev_hash, a) as recomputed,
           n.hash as anchor_hash, n.mac as anchor_mac
    from app.audit_log a
    left join app.audit_anchors n on n.chain_seq = a.chain_seq
    where a.chain_seq is not null
    order by a.chain_seq
  `.cursor(1000)
  for await (const batch of cursor) {
    for (const row of batch) {
      const anchor = row.anchor_hash === null ? null : { hash: row.anchor_hash, mac: row.anchor_mac as string }
      if (anchor) {
        if (hmacKey && anchor.mac !== anchorMac(hmacKey, row.seq, anchor.hash)) {
          return {
            ok: false,
            rows,
            brokenId: row.id,
            reason: 'its anchor’s HMAC does not verify: anchors were forged, or AUDIT_HMAC_KEY is wrong'
          }
        }
        if (anchor.hash !== row.hash) {
          return {
            ok: false,
            rows,
            brokenId: row.id,
            reason: 'its hash differs from its anchor: the chain was recomputed after a change'
          }
        }
        anchors++
      }
      const expectedPrev = previous?.hash ?? GENESIS
      if (row.prev_hash !== expectedPrev) {
        return {
          ok: false,
          rows,
          brokenId: row.id,
          reason: previous
            ? `prev_hash does not match the hash of row ${previous.id}: a row between them was deleted or altered`
            : 'the first row does not start the chain: earlier rows were deleted'
        }
      }
      if (row.recomputed !== row.hash) {
        return { ok: false, rows, brokenId: row.id, reason: 'its content does not match its hash: the row was edited' }
      }
      previous = { id: row.id, hash: row.hash }
      lastSeq = row.seq
      rows++
    }
  }
  const [beyond] = await sql<{ seq: string }[]>`
    select chain_seq::text as seq
    from app.audit_anchors
    where chain_seq > ${lastSeq}::bigint
    order by chain_seq desc
    limit 1
  `
  if (beyond) {
    return {
      ok: false,
      rows,
      brokenId: previous?.id ?? '0',
      reason: `an anchor stands at chain position ${beyond.seq}, past the last row: the newest rows were deleted`
    }
  }
  return { ok: true, rows, anchors, lastId: previous?.id ?? null, lastHash: previous?.hash ?? null }
}
