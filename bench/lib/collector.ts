import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An OTLP/HTTP endpoint that answers 200 and counts the spans it was sent. */
export async function startCollector(): Promise<{ url: string; spans: () => number; close: () => void }> {
  let spans = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      spans += body.split('"spanId"').length - 1
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => server.close()
  }
}
