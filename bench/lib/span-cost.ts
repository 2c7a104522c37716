// What OpenTelemetry's SDK costs a span, apart from any server: a child process (pinned by the
// parent) makes the read route's two spans per "request" (a server span, a statement span under
// it, with the attributes the api gives them) through src/tracing.ts, and reports its own CPU
// per span. With SPAN_COST_OTLP set it exports them as the api does (OTLP/HTTP, protobuf,
// batched) to that collector; unset, spans are made and ended and nothing is sent.
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api'
import { startTracing } from '../../src/tracing.ts'

const url = process.env.SPAN_COST_OTLP ?? null
const tracing = startTracing({ serviceName: 'sdc-span-cost', otlp: { url, headers: {}, protocol: 'http/protobuf' } })
const { tracer } = tracing
const REQUEST_ID = '01a24266-cad7-7dd8-b9ac-55346cd9bbcf'

function request(): void {
  const server = tracer.startSpan(
    'GET /workspaces/:id',
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.route': '/workspaces/:id', 'sdc.request_id': REQUEST_ID }
    },
    ROOT_CONTEXT
  )
  const statement = tracer.startSpan(
    'SELECT app.workspaces',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.operation.name': 'SELECT',
        'db.collection.name': 'app.workspaces'
      }
    },
    trace.setSpan(ROOT_CONTEXT, server)
  )
  statement.end()
  server.setAttribute('http.response.status_code', 200)
  server.setAttribute('enduser.id', REQUEST_ID)
  server.end()
}

// Requests in bursts of 8 a millisecond apart, about the pace of a busy api (the batch
// processor drops spans when its queue fills faster than a send completes). The same loop
// without spans is measured too and taken off: what is left is the spans' cost.
async function run(requests: number, spans: boolean): Promise<number> {
  const before = process.cpuUsage()
  for (let i = 0; i < requests; i += 8) {
    if (spans) for (let j = 0; j < 8; j++) request()
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await tracing.forceFlush()
  const used = process.cpuUsage(before)
  return used.user + used.system
}

await run(20_000, true)
const requests = Number(process.env.SPAN_COST_REQUESTS ?? 100_000)
const idle = await run(requests, false)
const busy = await run(requests, true)
await tracing.shutdown()
const usPerSpan = Math.round(((busy - idle) / (requests * 2)) * 100) / 100
process.stdout.write(`${JSON.stringify({ usPerSpan, spans: (requests + 20_000) * 2 })}\n`)
