import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { countProtobufSpans, decodeOtlp } from './otlp.ts'

/** An OTLP/HTTP endpoint that answers 200 and counts the spans it was sent. */
export async function startCollector(): Promise<{ url: string; spans: () => number; close: () => void }> {
  let spans = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const type = String(req.headers['content-type'])
      const body = Buffer.concat(chunks)
      spans += type.startsWith('application/x-protobuf') ? countProtobufSpans(body) : decodeOtlp(type, body).length
      res.writeHead(200, { 'content-type': type }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => server.close()
  }
}
