import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** A TCP proxy to Postgres that a test can cut and restore, to make the database unreachable. */
export class TcpProxy {
  port = 0
  private server: Server | null = null
  private sockets = new Set<Socket>()
  private readonly target: { host: string; port: number }

  constructor(targetUrl: string) {
    const url = new URL(targetUrl)
    this.target = { host: url.hostname, port: Number(url.port || 5432) }
  }

  /** The target URL rewritten to go through the proxy. */
  urlFor(targetUrl: string): string {
    const url = new URL(targetUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target)
      this.sockets.add(client).add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        this.sockets.delete(client)
        this.sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Refuses new connections and resets open ones. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
