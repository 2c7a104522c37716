// What an OTLP/HTTP collector receives, decoded in either encoding: the spans with their
// service, ids in hex and attributes; enough for the tests to check the trace a process sent,
// and for the bench's collector stand-in to count what it was sent.

export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: { key: string; value: Record<string, unknown> }[]
}

interface JsonRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] }
    scopeSpans: { spans: OtlpSpan[] }[]
  }[]
}

/** A cursor over protobuf bytes: `varint()` reads one at `at` and moves past it. */
function cursor(bytes: Uint8Array) {
  const c = {
    at: 0,
    varint(): number {
      let value = 0
      let shift = 1
      for (;;) {
        const b = bytes[c.at++]
        value += (b & 0x7f) * shift
        if (b < 0x80) return value
        shift *= 128
      }
    }
  }
  return c
}

/** A protobuf message's fields as [number, value] pairs: varints as numbers, length-delimited as bytes. */
function fields(bytes: Uint8Array): [number, number | Uint8Array][] {
  const out: [number, number | Uint8Array][] = []
  const c = cursor(bytes)
  while (c.at < bytes.length) {
    const key = c.varint()
    const wire = key % 8
    if (wire === 0) out.push([key >>> 3, c.varint()])
    else if (wire === 2) {
      const length = c.varint()
      out.push([key >>> 3, bytes.subarray(c.at, c.at + length)])
      c.at += length
    } else if (wire === 1 || wire === 5) c.at += wire === 1 ? 8 : 4
    else throw new Error(`unexpected wire type ${wire}`)
  }
  return out
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const all = (msg: Uint8Array, n: number) =>
  fields(msg).flatMap(([k, v]) => (k === n && v instanceof Uint8Array ? [v] : []))
const one = (msg: Uint8Array, n: number) => fields(msg).find(([k]) => k === n)?.[1]

/** KeyValue { key = 1; AnyValue value = 2 } with AnyValue { string_value = 1; bool_value = 2; int_value = 3 }. */
function keyValue(kv: Uint8Array): { key: string; value: Record<string, unknown> } {
  const value = one(kv, 2) as Uint8Array
  const [[k, v]] = fields(value)
  return {
    key: text(one(kv, 1) as Uint8Array),
    value: k === 1 ? { stringValue: text(v as Uint8Array) } : k === 2 ? { boolValue: v === 1 } : { intValue: v }
  }
}

/** ExportTraceServiceRequest → ResourceSpans (1) → Resource (1) / ScopeSpans (2) → Span (2). */
function decodeProtobuf(body: Uint8Array): { service: string; span: OtlpSpan }[] {
  return all(body, 1).flatMap((resourceSpans) => {
    const resource = one(resourceSpans, 1) as Uint8Array | undefined
    const service =
      (resource ? all(resource, 1).map(keyValue) : []).find((a) => a.key === 'service.name')?.value.stringValue ?? ''
    return all(resourceSpans, 2).flatMap((scopeSpans) =>
      all(scopeSpans, 2).map((span) => {
        const parent = one(span, 4) as Uint8Array | undefined
        return {
          service: String(service),
          span: {
            traceId: hex(one(span, 1) as Uint8Array),
            spanId: hex(one(span, 2) as Uint8Array),
            ...(parent && parent.length > 0 ? { parentSpanId: hex(parent) } : {}),
            name: text(one(span, 5) as Uint8Array),
            kind: (one(span, 6) as number | undefined) ?? 0,
            attributes: all(span, 9).map(keyValue)
          }
        }
      })
    )
  })
}

/** The spans of one export request, by its content type. */
export function decodeOtlp(contentType: string, body: Buffer): { service: string; span: OtlpSpan }[] {
  if (contentType.startsWith('application/x-protobuf')) return decodeProtobuf(body)
  const doc = JSON.parse(body.toString('utf8')) as JsonRequest
  return doc.resourceSpans.flatMap((rs) => {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
    return rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ service, span })))
  })
}

/**
 * How many spans a protobuf export request holds, walking its lengths without decoding a field
 * (ResourceSpans 1 → ScopeSpans 2 → Span 2): the bench's collector stand-in counts with it, so
 * what it spends receiving is next to nothing beside the api it measures.
 */
export function countProtobufSpans(body: Uint8Array): number {
  const c = cursor(body)
  // Counts the fields numbered `n` before `end`, descending into them with `inside`.
  const walk = (end: number, n: number, inside: ((end: number) => number) | null): number => {
    let count = 0
    while (c.at < end) {
      const key = c.varint()
      const wire = key & 7
      if (wire === 0) c.varint()
      else if (wire === 1 || wire === 5) c.at += wire === 1 ? 8 : 4
      else if (wire === 2) {
        const stop = c.varint() + c.at
        if (key >>> 3 === n) count += inside ? inside(stop) : 1
        c.at = stop
      } else throw new Error(`unexpected wire type ${wire}`)
    }
    return count
  }
  return walk(body.length, 1, (end) => walk(end, 2, (end2) => walk(end2, 2, null)))
}
