import { createHmac } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
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
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const SECRET_KEY = /pass(word)?|token|secret|authorization|cookie/i

/** jsonb cannot hold U+0000 or a lone surrogate: a refused request's body is still recorded, with U+FFFD in their place. */
const storable = (text: string) => text.toWellFormed().replaceAll('\u0000', '\uFFFD')

/** The request body as stored in `changes`: secrets replaced, size bounded. */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[truncated]'
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) {
      out[storable(key)] = SECRET_KEY.test(key) ? '[redacted]' : scrub(inner, depth + 1)
    }
    return out
  }
  if (typeof value === 'string') return storable(value.length > 2000 ? `${value.slice(0, 2000)}…` : value)
  return value
}

function outcomeOf(statusCode: number): NonNullable<AuditEntry['outcome']> {
  if (statusCode < 400) return 'success'
  if (statusCode === 401 || statusCode === 403 || statusCode === 423 || statusCode === 429) return 'denied'
  return statusCode >= 500 ? 'error' : 'failure'
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
    changes: (entry.changes !== undefined ? scrub(entry.changes) : scrub(request.body ?? null)) as never,
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

export interface AuditPluginOptions {
  /** AUDIT_HMAC_KEY: when set, the sealer anchors the chain's head with an HMAC under it. */
  hmacKey?: string
}

async function auditPlugin(fastify: FastifyInstance, opts: AuditPluginOptions) {
  if (opts.hmacKey !== undefined && opts.hmacKey.length < 32)
    throw new Error('audit plugin: hmacKey must be at least 32 characters')
  fastify.addHook('onRoute', function requireAuditDeclaration(route) {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some((m) => MUTATING.has(m))) return
    const audit = route.config?.audit
    if (!audit?.action || !audit.resourceType) {
      throw new Error(
        `mutating route ${methods.join(',')} ${route.url} must declare config.audit { action, resourceType }`
      )
    }
  })
  // Only routes that declare an audit action have a refusal (or an audited read) to record.
  fastify.addHook('onRoute', function auditDeclaredRoutes(route) {
    if (route.config?.audit) appendRouteHook(route, 'onResponse', auditAfterResponse)
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
