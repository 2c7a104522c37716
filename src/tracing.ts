import { randomFillSync } from 'node:crypto'
import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider
} from '@opentelemetry/sdk-trace'
import type { TracingConfig } from './config.ts'
import type { Sql } from './db/client.ts'

// OpenTelemetry tracing for the api and the worker. Off (nothing registered, nothing patched,
// no hook added) unless an OTLP endpoint is configured: every helper here is then a no-op that
// costs one property read. On, one trace runs from the HTTP request through the statements it
// sends and the jobs it enqueues (their data carries the W3C trace context) into the worker.

export interface Tracing {
  tracer: Tracer
  /** The provider's sampler: a request's decision is taken with it before any span exists. */
  sampler: Sampler
  /**
   * A request without a parent is sampled when its trace id's four 32-bit words, xor-ed, are
   * below this: TraceIdRatioBasedSampler's rule (always on: 2³², off: 0), read off the pool's bytes.
   */
  rootBound: number
  /** Sends what is buffered and stops: graceful shutdown calls it last. */
  shutdown(): Promise<void>
  forceFlush(): Promise<void>
}

let active: Tracing | null = null

/** Whether this process traces. */
export const tracingEnabled = (): boolean => active !== null

export interface StartOptions {
  serviceName: string
  sampler?: Pick<TracingConfig, 'sampler' | 'ratio'>
  /** OTLP/HTTP export (production); tests pass an exporter of their own instead. */
  otlp?: Pick<TracingConfig, 'url' | 'headers' | 'protocol'>
  exporter?: SpanExporter
  /** Export each span as it ends (tests) instead of in batches. */
  simple?: boolean
  /** The longest a finished span waits in its batch (TracingConfig.scheduleDelayMs). */
  scheduleDelayMs?: number
}

/** The sampler for the config, and the bound its root decision compares a trace id's words with. */
function samplerOf(config: Pick<TracingConfig, 'sampler' | 'ratio'> | undefined): { sampler: Sampler; bound: number } {
  const name = config?.sampler ?? 'parentbased_always_on'
  const ratio = name.endsWith('always_off') ? 0 : name.endsWith('traceidratio') ? (config?.ratio ?? 1) : 1
  const root = name.endsWith('always_off')
    ? new AlwaysOffSampler()
    : name.endsWith('traceidratio')
      ? new TraceIdRatioBasedSampler(ratio)
      : new AlwaysOnSampler()
  // TraceIdRatioBasedSampler's own bound (always on: above every 32-bit value; off: below all).
  const r = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio))
  const bound = r === 1 ? 2 ** 32 : Math.floor(r * 0xffffffff)
  return { sampler: name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root, bound }
}

// Ids from a pool of random bytes (one randomFillSync per POOL bytes), read as the hex the W3C
// header carries: a root request's trace id and its sampling decision cost a slice and four reads.
// The pool's hex is made once per refill, and an id is a slice of it (V8 shares the characters),
// not a string of its own made by a call into C++ per id.
const POOL = 16 * 256
const pool = Buffer.alloc(POOL)
let poolHex = ''
let at = POOL

/** The offset in `pool` of `bytes` fresh random bytes, not all zero (an all-zero id is invalid). */
function fresh(bytes: number): number {
  for (;;) {
    if (at + bytes > POOL) {
      randomFillSync(pool)
      poolHex = pool.toString('hex')
      at = 0
    }
    const from = at
    at += bytes
    for (let i = from; i < at; i++) if (pool[i] !== 0) return from
  }
}

/** The hex of `bytes` pool bytes from `from`. */
const hexAt = (from: number, bytes: number): string => poolHex.slice(2 * from, 2 * (from + bytes))

/** A new span id (16 hex digits). */
export const newSpanId = (): string => hexAt(fresh(8), 8)

// The trace id a sampled root request was decided on, handed to the provider for its span: the
// provider's sampler then sees the same id and takes the same decision. Set and cleared around
// one synchronous startSpan call.
let decidedTraceId: string | null = null
const idGenerator: IdGenerator = {
  generateTraceId() {
    if (decidedTraceId) {
      const id = decidedTraceId
      decidedTraceId = null
      return id
    }
    return hexAt(fresh(16), 16)
  },
  generateSpanId: newSpanId
}

/** Registers the global provider, context manager and propagator for this process. */
export function startTracing(options: StartOptions): Tracing {
  if (active) throw new Error('tracing is already started in this process')
  const { protocol, url, headers } = options.otlp ?? {}
  const otlp = { url: url ?? undefined, headers }
  // No URL (OTEL_TRACES_EXPORTER=none): spans are made, ids travel and are stored, nothing is sent.
  const exporter =
    options.exporter ??
    (url === null ? null : protocol === 'http/json' ? new OtlpJsonExporter(otlp) : new OtlpProtobufExporter(otlp))
  const { sampler, bound } = samplerOf(options.sampler)
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler,
    idGenerator,
    spanProcessors: exporter
      ? [
          options.simple
            ? new SimpleSpanProcessor({ exporter })
            : new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.scheduleDelayMs })
        ]
      : []
  })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  const tracing: Tracing = {
    tracer: provider.getTracer('system-design-coach'),
    sampler,
    rootBound: bound,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
      active = null
    }
  }
  active = tracing
  return tracing
}

/** Tracing from the config (null when no endpoint is set): the entry points call this first. */
export function startTracingFromConfig(config: TracingConfig | null, role: string): Tracing | null {
  if (!config) return null
  return startTracing({
    serviceName: config.serviceName ?? `sdc-${role}`,
    sampler: config,
    otlp: config,
    scheduleDelayMs: config.scheduleDelayMs
  })
}

export interface TraceIds {
  traceId: string
  /** The server span's id; null for a request that was not sampled (it has no span). */
  spanId: string | null
}

export interface RequestTrace {
  /** The server span; null when the request is not sampled. */
  span: Span | null
  ids: TraceIds
}

/** What a sampled request's server span is called and carries (made only for a sampled request). */
export interface SpanDescription {
  name: string
  attributes: Record<string, string>
}

const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>

/**
 * Starts a request's trace. Sampling is decided first, as the provider would decide it (parent
 * based: a trusted caller's decision is kept; otherwise the ratio on the trace id): a request
 * that is not sampled gets its ids only (for `x-trace-id`, its log line and its telemetry row)
 * and no span, no context and no statement spans, so it costs next to nothing. Its span's name
 * and attributes are built only once it is sampled (`describe`): the samplers this module makes
 * (samplerOf) decide on the parent and the trace id alone.
 */
export function startRequestTrace(describe: () => SpanDescription, parent: Context = ROOT_CONTEXT): RequestTrace {
  if (!active) throw new Error('tracing is not started in this process')
  const remote = trace.getSpanContext(parent)
  const continued = remote !== undefined && isSpanContextValid(remote)
  let traceId: string
  if (continued) {
    traceId = remote.traceId
    const { decision } = active.sampler.shouldSample(parent, traceId, '', SpanKind.SERVER, NO_ATTRIBUTES, [])
    if (decision === SamplingDecision.NOT_RECORD) return { span: null, ids: { traceId, spanId: null } }
  } else {
    // The root sampler's decision on this id, as TraceIdRatioBasedSampler reads it from the hex.
    const from = fresh(16)
    traceId = hexAt(from, 16)
    const words =
      (pool.readUInt32BE(from) ^
        pool.readUInt32BE(from + 4) ^
        pool.readUInt32BE(from + 8) ^
        pool.readUInt32BE(from + 12)) >>>
      0
    if (words >= active.rootBound) return { span: null, ids: { traceId, spanId: null } }
    decidedTraceId = traceId
  }
  const { name, attributes } = describe()
  const span = active.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent)
  decidedTraceId = null
  return { span, ids: { traceId, spanId: span.spanContext().spanId } }
}

/** W3C trace context naming a request that was not sampled: its jobs are not sampled either. */
export function unsampledCarrier(ids: TraceIds): { traceparent: string } {
  return { traceparent: `00-${ids.traceId}-${ids.spanId ?? newSpanId()}-00` }
}

/** The ids of the span current here, for log lines; null outside a trace. */
export function currentTraceIds(ctx: Context = context.active()): { traceId: string; spanId: string } | null {
  if (!active) return null
  const span = trace.getSpanContext(ctx)
  return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : null
}

/** pino's mixin: every line written inside a trace carries its ids. */
export function traceLogFields(ctx: Context = context.active()): Record<string, string> {
  const ids = currentTraceIds(ctx)
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}
}

/** W3C trace context of the current span, to travel in a job's data; empty outside a trace. */
export function traceCarrier(ctx: Context = context.active()): { traceparent?: string; tracestate?: string } {
  if (!active || !trace.getSpanContext(ctx)) return {}
  const carrier: { traceparent?: string; tracestate?: string } = {}
  propagation.inject(ctx, carrier)
  return carrier
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/

/** The trace id inside a traceparent value (for job telemetry rows), or null. */
export function traceIdOf(traceparent: unknown): string | null {
  return typeof traceparent === 'string' ? (TRACEPARENT.exec(traceparent)?.[1] ?? null) : null
}

/** The context a remote carrier (request headers, a job's data) continues; the root when none. */
export function extractContext(carrier: Record<string, unknown>): Context {
  return active ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT
}

/**
 * Runs `fn` in a new span (a child of the current one, or of `parent`), ends it with the
 * outcome, and returns what `fn` returns. Without tracing, or below no recording span and no
 * `parent` (an unsampled request), it is `fn(null)`: a child never starts a trace of its own.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  fn: (span: Span | null) => Promise<T>
): Promise<T> {
  if (!active) return fn(null)
  const parent = options.parent ?? context.active()
  if (!options.parent && !trace.getSpan(parent)?.isRecording()) return fn(null)
  // A remote parent that was not sampled (a job of an unsampled request): its context travels on, no span.
  const remote = options.parent && trace.getSpanContext(parent)
  if (remote && isSpanContextValid(remote) && !(remote.traceFlags & TraceFlags.SAMPLED))
    return context.with(parent, () => fn(null))
  const span = active.tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, parent)
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span))
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).name })
    throw err
  } finally {
    span.end()
  }
}

export { SpanKind, SpanStatusCode }

// --- Statement spans -------------------------------------------------------------------------

interface QueryLike {
  executed: boolean
  strings: readonly string[]
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  handle(): Promise<void>
}

// A statement led by a nested fragment (`$`), or by a `with` clause that is one (an audit row's,
// `with audit_row as ($)`), is named by what follows it.
const STATEMENT = /^[\s$]*(?:--[^\n]*\n[\s$]*|\/\*[\s\S]*?\*\/[\s$]*|with\s+\w+\s+as\s+\(\$\)[\s$]*)*([a-z]+)/i
const TABLE = /\b(?:from|into|update|join)\s+((?:[a-z_][\w$]*\.)?[a-z_][\w$]*)/i
interface Statement {
  name: string
  /** The span's attributes (kind and table), made once per call site. */
  attributes: Record<string, string>
}
const names = new WeakMap<readonly string[], Statement>()

/** `SELECT app.workspaces`: the statement's kind and first table, never its text or values. */
export function statementName(strings: readonly string[]): Statement {
  let known = names.get(strings)
  if (!known) {
    const text = strings.join('$')
    const operation = (STATEMENT.exec(text)?.[1] ?? 'query').toUpperCase()
    const table = TABLE.exec(text)?.[1]?.toLowerCase() ?? null
    known = {
      name: table ? `${operation} ${table}` : operation,
      attributes: {
        'db.system.name': 'postgresql',
        'db.operation.name': operation,
        ...(table ? { 'db.collection.name': table } : {})
      }
    }
    // Template strings arrays are the same object per call site: their names are worked out once.
    if (Object.isFrozen(strings)) names.set(strings, known)
  }
  return known
}

let instrumented = false

/**
 * A client span per statement sent inside a sampled trace (statements outside one, such as the
 * queue's polling or an unsampled request's, make none). postgres.js has no hooks, so its Query's `handle` (what runs a
 * statement when it is first awaited) is wrapped once per process; only when tracing is on.
 */
export function instrumentStatements(sql: Sql): void {
  if (!active || instrumented) return
  instrumented = true
  const proto = Object.getPrototypeOf(sql`select 1`) as QueryLike
  const original = proto.handle
  proto.handle = function handle(this: QueryLike) {
    if (!this.executed && active) {
      const parent = context.active()
      if (trace.getSpan(parent)?.isRecording()) {
        const { name, attributes } = statementName(this.strings)
        const span = active.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent)
        const { resolve, reject } = this
        this.resolve = (value) => {
          span.end()
          resolve(value)
        }
        this.reject = (err) => {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as { code?: string }).code ?? err.name })
          span.end()
          reject(err)
        }
      }
    }
    return original.call(this)
  }
}
