import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Sql } from '../src/db/client.ts'
import { pathOf } from '../src/paths.ts'

export interface TelemetryPluginOptions {
  sampleRate: number
  /** Rows held at most; beyond that new rows are dropped and counted. */
  maxBuffer?: number
  /** A flush starts when this many rows wait, or every flushIntervalMs. */
  flushRows?: number
  flushIntervalMs?: number
}

/**
 * One request, as the buffer holds it (each field a column of the batch's arrays): epoch
 * milliseconds (Date.now(): a tenth of the cost of an ISO string), request id, method, route,
 * path, status code, duration in ms, user id, client address, user agent, trace id.
 */
export type TelemetryRow = [
  createdMs: number,
  requestId: string,
  method: string,
  route: string | null,
  path: string,
  statusCode: number,
  durationMs: number,
  userId: string | null,
  clientIp: string,
  userAgent: string | null,
  traceId: string | null
]

export interface TelemetryStats {
  buffered: number
  written: number
  dropped: number
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: { stats(): TelemetryStats; flush(): Promise<void> }
  }
}

/**
 * A bounded buffer flushed with one multi-row insert. Requests never wait for it: a full
 * buffer or a failed insert drops rows, counted and logged, never an error to the client.
 */
export class TelemetryBuffer {
  private rows: TelemetryRow[] = []
  private flushing: Promise<void> | null = null
  private lastDropLog = 0
  written = 0
  dropped = 0
  private readonly sql: Sql
  private readonly maxBuffer: number
  private readonly flushRows: number
  private readonly log: (msg: string, err?: Error) => void

  constructor(sql: Sql, maxBuffer: number, flushRows: number, log: (msg: string, err?: Error) => void) {
    this.sql = sql
    this.maxBuffer = maxBuffer
    this.flushRows = flushRows
    this.log = log
  }

  get size(): number {
    return this.rows.length
  }

  push(row: TelemetryRow): void {
    if (this.rows.length >= this.maxBuffer) {
      this.drop(1, 'telemetry buffer full')
      return
    }
    this.rows.push(row)
    // One flush at a time: while one is in flight, rows wait for the next (started when it ends).
    if (this.rows.length >= this.flushRows && !this.flushing) void this.flush()
  }

  private drop(count: number, reason: string, err?: Error) {
    this.dropped += count
    // One line per 10 s at most: a database outage must not flood the logs.
    if (Date.now() - this.lastDropLog > 10_000) {
      this.lastDropLog = Date.now()
      this.log(`${reason}: dropped ${count} telemetry row(s), ${this.dropped} in total`, err)
    }
  }

  /** Writes everything buffered; concurrent callers share the flush in progress. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.rows.length === 0) return
    const batch = this.rows
    this.rows = []
    this.flushing = this.insert(batch).finally(() => {
      this.flushing = null
      if (this.rows.length >= this.flushRows) void this.flush()
    })
    await this.flushing
  }

  private async insert(batch: TelemetryRow[]): Promise<void> {
    try {
      // One statement for the whole batch: a typed array per column, unnested into rows (Postgres
      // parses each array once; no JSON document taken apart field by field).
      const c = telemetryColumns(batch)
      await this.sql`
        insert into app.request_telemetry
          (created_at, request_id, method, route, path, status_code, duration_ms, user_id, client_ip, user_agent,
           trace_id)
        select to_timestamp(t / 1000.0), r, m, ro, p, s, d, u, ip, ua, tr
        from unnest(${c[0]}::float8[], ${c[1]}::text[], ${c[2]}::text[], ${c[3]}::text[], ${c[4]}::text[],
          ${c[5]}::int[], ${c[6]}::float8[], ${c[7]}::uuid[], ${c[8]}::text[], ${c[9]}::text[], ${c[10]}::text[])
          as x(t, r, m, ro, p, s, d, u, ip, ua, tr)
      `
      this.written += batch.length
    } catch (err) {
      this.drop(batch.length, 'telemetry insert failed', err as Error)
    }
  }
}

/** Columns whose values are numbers (written bare); the others are text, quoted. */
const NUMERIC = [true, false, false, false, false, true, true, false, false, false, false]
const NEEDS_ESCAPE = /[\\"]/
const ESCAPED = /[\\"]/g

/**
 * A batch as eleven Postgres array literals, one per column (`{1,2}`, `{"a",NULL}`), built in one
 * pass: text is quoted and its `"` and `\` escaped, NULL is NULL. What the insert binds, cast to
 * its column's array type.
 */
export function telemetryColumns(batch: readonly TelemetryRow[]): string[] {
  const columns = NUMERIC.map(() => '')
  for (let i = 0; i < batch.length; i++) {
    const row = batch[i]
    const sep = i === 0 ? '' : ','
    for (let c = 0; c < NUMERIC.length; c++) {
      const v = row[c]
      if (v === null) columns[c] += `${sep}NULL`
      else if (NUMERIC[c]) columns[c] += `${sep}${v}`
      else {
        const text = v as string
        columns[c] += `${sep}"${NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (ch) => `\\${ch}`) : text}"`
      }
    }
  }
  return columns.map((body) => `{${body}}`)
}

async function telemetryPlugin(fastify: FastifyInstance, opts: TelemetryPluginOptions) {
  if (!(opts.sampleRate >= 0 && opts.sampleRate <= 1))
    throw new Error('telemetry plugin: sampleRate must be within 0..1')
  const buffer = new TelemetryBuffer(fastify.sql, opts.maxBuffer ?? 10_000, opts.flushRows ?? 500, (msg, err) =>
    fastify.log.warn({ err: err ? { message: err.message, code: (err as { code?: string }).code } : undefined }, msg)
  )
  const timer = setInterval(() => void buffer.flush(), opts.flushIntervalMs ?? 1000)
  timer.unref()

  fastify.decorate('telemetry', {
    stats: () => ({ buffered: buffer.size, written: buffer.written, dropped: buffer.dropped }),
    flush: () => buffer.flush()
  })

  fastify.addHook('onResponse', function recordTelemetry(request: FastifyRequest, reply: FastifyReply, done) {
    // 5xx responses are always kept; everything else is sampled.
    if (reply.statusCode >= 500 || opts.sampleRate >= 1 || Math.random() < opts.sampleRate) {
      buffer.push([
        Date.now(),
        request.id,
        request.method,
        request.routeOptions.url ?? null,
        pathOf(request.url).slice(0, 1000),
        reply.statusCode,
        Math.round(reply.elapsedTime * 1000) / 1000,
        request.userId,
        request.ip,
        request.headers['user-agent']?.slice(0, 500) ?? null,
        request.traceIds?.traceId ?? null
      ])
    }
    done()
  })

  // Registered after the db plugin, so this runs before the pool closes.
  fastify.addHook('onClose', async function flushTelemetry() {
    clearInterval(timer)
    await buffer.flush()
    fastify.log.info({ ...fastify.telemetry.stats() }, 'telemetry flushed')
  })
}

export default fp(telemetryPlugin, { name: 'telemetry', dependencies: ['db', 'request-context'], fastify: '5.x' })
