import { createServer, get as httpGet } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ROOT_CONTEXT } from '@opentelemetry/api'
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SamplingDecision,
  TraceIdRatioBasedSampler
} from '@opentelemetry/sdk-trace'
import pino from 'pino'
import t from 'tap'
import { countProtobufSpans, decodeOtlp, type OtlpSpan } from '../bench/lib/otlp.ts'
import * as simulation from '../jobs/simulation.ts'
import { startTracing, statementName, traceIdOf } from '../src/tracing.ts'
import { buildTestApp, testConfig } from './helpers/app.ts'
import { startedBoss } from './helpers/boss.ts'
import { createTestDatabase, testSql, waitFor } from './helpers/db.ts'
import { SAMPLE_DESIGN } from './helpers/designs.ts'
import { call } from './helpers/http.ts'
import { runSqlFile } from './helpers/sql-files.ts'
import { startApi, startWorker, stopProcess } from './helpers/stack.ts'
import { bearer, PASSWORD, registerAndLogin } from './helpers/users.ts'
import { postWorkspace } from './helpers/workspaces.ts'

// Tracing is process-wide: this file starts it once, with an in-memory exporter, for the
// in-process part; the OTLP part runs the real api and worker as processes.
const exporter = new InMemorySpanExporter()
const tracing = startTracing({ serviceName: 'sdc-test', exporter, simple: true })
t.teardown(() => tracing.shutdown())

const CANARY_PASSWORD = `canary-${PASSWORD}-3141592653`

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
const idOf = (span: ReadableSpan) => span.spanContext().spanId
const traceOf = (span: ReadableSpan) => span.spanContext().traceId

t.test('statement names carry the kind and the table, never the text', async (t) => {
  const name = (strings: string[]) => statementName(Object.freeze(strings)).name
  t.equal(name(['select id from app.workspaces where id = ', '']), 'SELECT app.workspaces')
  t.equal(name(['\n    insert into app.audit_log (a) values (', ')']), 'INSERT app.audit_log')
  t.equal(name(['update app.simulation_runs set status = ', '']), 'UPDATE app.simulation_runs')
  t.equal(name(['with job as (insert into pgboss.job (id) values (', ') returning id) select 1']), 'WITH pgboss.job')
  t.equal(name(['select 1']), 'SELECT')
  t.equal(name(['', ' insert into app.simulation_runs ', '']), 'INSERT app.simulation_runs')
  t.equal(name(['\n    with audit_row as (', ')\n    update app.workspaces set ', '']), 'UPDATE app.workspaces')
  t.equal(traceIdOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), '0af7651916cd43dd8448eb211c80319c')
  t.equal(traceIdOf('not a traceparent'), null)
})

t.test('one trace runs from the request through its statements, the enqueue and the job', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app, logs } = await buildTestApp(t, url, { REQUEST_TELEMETRY_SAMPLE_RATE: '1' })
  const user = await registerAndLogin(app)
  const ws = (await postWorkspace(app, user, { name: 'Traced', design: SAMPLE_DESIGN })).json()
  exporter.reset()

  const res = await app.inject({
    method: 'POST',
    url: `/workspaces/${ws.id}/simulations`,
    headers: { ...bearer(user), 'x-request-id': 'traced-1' },
    payload: { seed: 3 }
  })
  t.equal(res.statusCode, 202)
  const traceId = res.headers['x-trace-id'] as string
  t.match(traceId, /^[\da-f]{32}$/, 'the response names its trace')

  // The worker's side, in this process: fetch the job and run the real batch handler.
  const boss = await startedBoss(t, sql, 'worker')
  const [job] = await boss.fetch(simulation.job.name, { includeMetadata: true })
  t.ok(job, 'the job was enqueued')
  t.match(job.data, { traceparent: new RegExp(`^00-${traceId}-[\\da-f]{16}-01$`) }, 'the job carries the context')
  const handler = simulation.job.create({ sql, config: testConfig(), engine: null, log: pino({ level: 'silent' }) })
  const [outcome] = await handler([{ ...job, signal: new AbortController().signal } as never])
  t.equal(outcome.status, 'completed')

  const spans = exporter.getFinishedSpans().filter((s) => traceOf(s) === traceId)
  const server = spans.find((s) => s.name === 'POST /workspaces/:id/simulations')
  if (!server) throw new Error(`no server span among ${spans.map((s) => s.name).join(', ')}`)
  t.equal(server.kind, 1, 'a SERVER span')
  t.equal(parentOf(server), undefined, 'the request is the root')
  t.match(server.attributes, {
    'http.request.method': 'POST',
    'http.route': '/workspaces/:id/simulations',
    'http.response.status_code': 202,
    'enduser.id': user.id,
    'sdc.request_id': 'traced-1'
  })
  const children = spans.filter((s) => parentOf(s) === idOf(server))
  const statements = children.filter((s) => s.attributes['db.system.name'] === 'postgresql')
  t.ok(statements.length >= 2, `the request's statements are its children (${statements.map((s) => s.name)})`)
  t.ok(
    statements.some((s) => s.name === 'INSERT app.simulation_runs'),
    'the insert of the run is named by kind and table'
  )
  const enqueue = children.find((s) => s.name === 'enqueue simulation')
  if (!enqueue) throw new Error('no enqueue span')
  t.equal(enqueue.kind, 3, 'a PRODUCER span')
  t.match(enqueue.attributes, { 'messaging.destination.name': 'simulation', 'messaging.message.id': job.id })
  const consumer = spans.find((s) => s.name === 'process simulation')
  if (!consumer) throw new Error('no consumer span')
  t.equal(consumer.kind, 4, 'a CONSUMER span')
  t.equal(parentOf(consumer), idOf(enqueue), 'the job continues the enqueue span')
  t.match(consumer.attributes, { 'sdc.job.attempt': 1, 'sdc.job.outcome': 'completed' })
  const jobStatements = spans.filter((s) => parentOf(s) === idOf(consumer))
  t.ok(
    jobStatements.some((s) => s.name === 'UPDATE app.simulation_runs'),
    `the job's statements are its children (${jobStatements.map((s) => s.name)})`
  )

  // The trace id beside the request id, in every place an operator looks.
  await app.telemetry.flush()
  const [telemetry] = await sql`select trace_id from app.request_telemetry where request_id = 'traced-1'`
  t.equal(telemetry?.trace_id, traceId, 'request telemetry')
  const audit = await sql`select trace_id from app.audit_log where request_id = 'traced-1'`
  t.ok(audit.length > 0 && audit.every((r) => r.trace_id === traceId), 'audit rows')
  const events = await sql`select event, trace_id from app.job_telemetry where job_id = ${job.id} order by created_at`
  t.same(
    events.map((e) => [e.event, e.trace_id]),
    [
      ['queued', traceId],
      ['running', traceId],
      ['completed', traceId]
    ],
    'job telemetry'
  )
  const story = await runSqlFile(sql, 'sql/queries/correlate_request.sql', { id: traceId })
  t.same(
    [...new Set(story.map((r) => r.source))].sort(),
    ['audit', 'job', 'request'],
    'the RUNBOOK’s correlation query finds it all by the trace id'
  )
  const line = logs.lines.find((l) => l.msg === 'request completed' && l.requestId === 'traced-1')
  t.match(line, { trace_id: traceId, span_id: idOf(server) }, 'the log line')
})

t.test('a sampled request whose client goes away ends its span marked aborted', async (t) => {
  const { url } = await createTestDatabase(t)
  let entered = false
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const { app } = await buildTestApp(t, url, {}, (app) => {
    app.get('/test/held', { config: { auth: 'public' } }, async () => {
      entered = true
      await held
      return { ok: true }
    })
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const request = httpGet(`${address}/test/held`)
  request.on('error', () => {})
  await waitFor(() => entered, { what: 'the handler to start' })
  request.destroy()
  const aborted = () => exporter.getFinishedSpans().find((s) => s.name === 'GET /test/held')
  await waitFor(() => aborted() !== undefined, { what: 'the aborted request’s span to end' })
  release()
  t.match(aborted()?.attributes, { 'sdc.aborted': true, 'http.route': '/test/held' })
  t.equal(aborted()?.status.code, 2, 'an error status')
  t.notOk(aborted()?.attributes['http.response.status_code'], 'no status code: nothing was answered')
})

t.test('an incoming traceparent is continued only from a trusted proxy', async (t) => {
  const { url } = await createTestDatabase(t)
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  const untrusted = await buildTestApp(t, url)
  const fresh = await untrusted.app.inject({ url: '/health/live', headers: { traceparent: parent } })
  t.not(fresh.headers['x-trace-id'], '0af7651916cd43dd8448eb211c80319c', 'an outside client starts its own trace')
  t.match(fresh.headers['x-trace-id'], /^[\da-f]{32}$/)
  const trusted = await buildTestApp(t, url, { TRUST_PROXY: '127.0.0.1' })
  const continued = await trusted.app.inject({
    url: '/health/live',
    headers: { traceparent: parent, tracestate: 'vendor=abc' }
  })
  t.equal(continued.headers['x-trace-id'], '0af7651916cd43dd8448eb211c80319c', 'the proxy’s trace is continued')
  const span = exporter.getFinishedSpans().find((s) => traceOf(s) === '0af7651916cd43dd8448eb211c80319c')
  t.equal(span && parentOf(span), 'b7ad6b7169203331', 'as a child of the proxy’s span')
  t.equal(span?.spanContext().traceState?.get('vendor'), 'abc', 'tracestate passed on')
})

t.test('the api and the worker export one trace over OTLP/HTTP, and leak nothing', async (t) => {
  // The api in JSON, the worker in protobuf (the specification's default): the receiver decodes both.
  const received: { service: string; span: OtlpSpan }[] = []
  const bodies: string[] = []
  const headers: string[] = []
  const contentTypes = new Set<string>()
  // [the bench collector's count, the decoded spans] per protobuf body.
  const counted: [number, number][] = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const type = String(req.headers['content-type'])
      bodies.push(body.toString('latin1'))
      headers.push(String(req.headers.authorization))
      contentTypes.add(type)
      const spans = decodeOtlp(type, body)
      received.push(...spans)
      if (type.startsWith('application/x-protobuf')) counted.push([countProtobufSpans(body), spans.length])
      res.writeHead(200, { 'content-type': type }).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  t.teardown(() => receiver.close())
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  const { url } = await createTestDatabase(t)
  const env = {
    DATABASE_URL: url,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-token'
  }
  const api = await startApi({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const worker = await startWorker(env)
  t.teardown(() => stopProcess(worker, 'SIGKILL'))

  const email = `canary-${Date.now()}@example.com`
  const post = (path: string, body: unknown, token?: string) =>
    call(api.port, {
      method: 'POST',
      path,
      body,
      headers: token ? { authorization: `Bearer ${token}` } : {}
    })
  t.equal((await post('/auth/register', { email, password: CANARY_PASSWORD, displayName: 'Canary' })).status, 201)
  // The api's first span waits at most OTEL_BSP_SCHEDULE_DELAY (200 ms unless set; the
  // specification's 5 s would miss this deadline) before it is sent, not until its batch fills.
  await waitFor(async () => received.some((r) => r.span.name === 'POST /auth/register'), {
    timeoutMs: 2000,
    what: 'the first request’s span, sent while the api runs'
  })
  const login = JSON.parse((await post('/auth/login', { email, password: CANARY_PASSWORD })).body ?? '{}')
  const token = login.accessToken as string
  const ws = JSON.parse(
    (await post('/workspaces', { name: 'Canary workspace', design: SAMPLE_DESIGN }, token)).body ?? '{}'
  )
  const run = await post(`/workspaces/${ws.id}/simulations`, { seed: 5 }, token)
  t.equal(run.status, 202)
  const traceId = run.headers?.['x-trace-id'] as string
  const runId = JSON.parse(run.body ?? '{}').id
  await waitFor(
    async () => {
      const r = await call(api.port, { path: `/simulations/${runId}`, headers: { authorization: `Bearer ${token}` } })
      return JSON.parse(r.body ?? '{}').status === 'completed'
    },
    { timeoutMs: 20_000, what: 'the run to complete' }
  )
  // Graceful shutdown flushes what is still batched: stop both, then read what arrived.
  t.equal(await stopProcess(worker), 0)
  t.equal(await stopProcess(api), 0)
  const inTrace = received.filter((r) => r.span.traceId === traceId)
  const server = inTrace.find((r) => r.service === 'sdc-api' && r.span.name === 'POST /workspaces/:id/simulations')
  const enqueue = inTrace.find((r) => r.service === 'sdc-api' && r.span.name === 'enqueue simulation')
  const consumer = inTrace.find((r) => r.service === 'sdc-worker' && r.span.name === 'process simulation')
  t.ok(server && enqueue && consumer, `the api's and the worker's spans arrived (${inTrace.map((r) => r.span.name)})`)
  t.equal(enqueue?.span.parentSpanId, server?.span.spanId, 'enqueue under the request')
  t.equal(consumer?.span.parentSpanId, enqueue?.span.spanId, 'the job under the enqueue, across processes')
  t.ok(
    inTrace.some((r) => r.service === 'sdc-worker' && r.span.parentSpanId === consumer?.span.spanId),
    "the worker's statements under the job"
  )
  t.same(
    [...contentTypes].sort(),
    ['application/json', 'application/x-protobuf'],
    'both encodings were sent: the api as told, the worker by default'
  )
  t.ok(
    counted.length > 0 && counted.every(([count, decoded]) => count === decoded),
    `the bench collector's count is the decoded span count (${JSON.stringify(counted)})`
  )
  t.ok(
    headers.every((h) => h === 'Bearer collector-token'),
    'OTEL_EXPORTER_OTLP_HEADERS reach the collector'
  )
  // Canary: no password, email, token or design value in any span the processes sent.
  const everything = bodies.join('\n')
  for (const secret of [CANARY_PASSWORD, email, token, login.refreshToken, 'Canary workspace']) {
    t.notOk(everything.includes(secret), `no span carries ${secret.slice(0, 12)}…`)
  }
  t.ok(
    received.every((r) => !/\$\d|select |insert /i.test(JSON.stringify(r.span.attributes ?? []))),
    'no statement text or parameter in attributes'
  )
})

t.test('OTEL_TRACES_EXPORTER=none: trace ids in responses and rows, nothing sent', async (t) => {
  let exports = 0
  const receiver = createServer((req, res) => {
    exports++
    req.resume()
    req.on('end', () => res.writeHead(200).end())
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  t.teardown(() => receiver.close())
  const { url } = await createTestDatabase(t)
  const api = await startApi({
    DATABASE_URL: url,
    OTEL_TRACES_EXPORTER: 'none',
    // An endpoint too: none wins, so a stray variable cannot start sending.
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  })
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const live = await call(api.port, { path: '/health/live', headers: { 'x-request-id': 'untraced-export-1' } })
  const traceId = live.headers?.['x-trace-id']
  t.match(traceId, /^[\da-f]{32}$/, 'the response names its trace')
  // Graceful shutdown flushes telemetry (and would flush spans, were there an exporter).
  t.equal(await stopProcess(api), 0)
  const sql = testSql(t, url)
  const [row] = await sql`select trace_id from app.request_telemetry where request_id = 'untraced-export-1'`
  t.equal(row?.trace_id, traceId, 'the telemetry row carries the trace id')
  t.equal(exports, 0, 'no export was sent')
})

t.test('a request its parent did not sample: ids everywhere, no span, and its job not sampled', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app, logs } = await buildTestApp(t, url, { TRUST_PROXY: '127.0.0.1', REQUEST_TELEMETRY_SAMPLE_RATE: '1' })
  const user = await registerAndLogin(app)
  const ws = (await postWorkspace(app, user, { name: 'Unsampled', design: SAMPLE_DESIGN })).json()
  exporter.reset()
  // Every span made in this process goes through this tracer (the plugin's, the statements', the jobs').
  let made = 0
  const startSpan = tracing.tracer.startSpan
  tracing.tracer.startSpan = function counted(...args) {
    made++
    return startSpan.apply(this, args)
  }
  t.teardown(() => {
    tracing.tracer.startSpan = startSpan
  })
  // The proxy decided not to sample (flags 00): parent-based sampling keeps that decision.
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const res = await app.inject({
    method: 'POST',
    url: `/workspaces/${ws.id}/simulations`,
    headers: { ...bearer(user), 'x-request-id': 'unsampled-1', traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
    payload: { seed: 3 }
  })
  t.equal(res.statusCode, 202)
  t.equal(res.headers['x-trace-id'], traceId, 'the response names the trace all the same')

  const boss = await startedBoss(t, sql, 'worker')
  const [job] = await boss.fetch(simulation.job.name, { includeMetadata: true })
  t.match(
    job.data,
    { traceparent: new RegExp(`^00-${traceId}-[\\da-f]{16}-00$`) },
    'the job carries the trace, marked unsampled'
  )
  const handler = simulation.job.create({ sql, config: testConfig(), engine: null, log: pino({ level: 'silent' }) })
  const [outcome] = await handler([{ ...job, signal: new AbortController().signal } as never])
  t.equal(outcome.status, 'completed')
  t.equal(made, 0, 'no span object was made, recording or not: not for the request, its statements, enqueue or job')
  t.same(
    exporter.getFinishedSpans().filter((s) => traceOf(s) === traceId),
    [],
    'none exported'
  )
  t.same(
    exporter.getFinishedSpans().map((s) => s.name),
    [],
    'and no orphan trace started below it'
  )

  await app.telemetry.flush()
  const [telemetry] = await sql`select trace_id from app.request_telemetry where request_id = 'unsampled-1'`
  t.equal(telemetry?.trace_id, traceId, 'request telemetry')
  const audit = await sql`select trace_id from app.audit_log where request_id = 'unsampled-1'`
  t.ok(audit.length > 0 && audit.every((r) => r.trace_id === traceId), 'audit rows')
  const events = await sql`select event, trace_id from app.job_telemetry where job_id = ${job.id} order by created_at`
  t.same(
    events.map((e) => e.trace_id),
    [traceId, traceId, traceId],
    'job telemetry'
  )
  const line = logs.lines.find((l) => l.msg === 'request completed' && l.requestId === 'unsampled-1')
  t.match(line, { trace_id: traceId }, 'the log line')
  t.notOk(line && 'span_id' in line, 'and no span id: the request has no span')
})

t.test('at a ratio, a request is sampled exactly when the ratio says of its trace id', async (t) => {
  const spans: string[] = []
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      for (const { span } of decodeOtlp(String(req.headers['content-type']), Buffer.concat(chunks)))
        if (span.kind === 2) spans.push(span.traceId)
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  t.teardown(() => receiver.close())
  const { url } = await createTestDatabase(t)
  const api = await startApi({
    DATABASE_URL: url,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.3'
  })
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const traceIds: string[] = []
  for (let i = 0; i < 60; i++) {
    const live = await call(api.port, { path: '/health/live' })
    traceIds.push(String(live.headers?.['x-trace-id']))
  }
  t.equal(await stopProcess(api), 0, 'graceful shutdown flushes the spans')
  const ratio = new TraceIdRatioBasedSampler(0.3)
  const expected = traceIds.filter(
    (id) => ratio.shouldSample(ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED
  )
  t.ok(expected.length > 0 && expected.length < traceIds.length, `some sampled, some not (${expected.length} of 60)`)
  // (startApi's own readiness polls are requests too: only this test's are compared.)
  t.same(
    spans.filter((id) => traceIds.includes(id)).sort(),
    expected.sort(),
    'exported: exactly the requests whose trace id the ratio samples'
  )
})
