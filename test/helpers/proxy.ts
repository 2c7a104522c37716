import { createConnection, createServer, type Server, type Socket } from 'node:net'

interface Target {
  host: string
  port: number
}

/**
 * A TCP proxy a test can break on purpose: cut (refuse and reset), add latency, blackhole
 * (hold every byte, as a partition does, until healed) or reset open connections. With
 * several targets it hands each new connection to the next one (round robin).
 */
export class TcpProxy {
  port = 0
  latencyMs = 0
  /** Connections handed to each target, in the order given. */
  readonly connections: number[]
  private server: Server | null = null
  private sockets = new Set<Socket>()
  private readonly targets: Target[]
  private next = 0
  private held = false
  private readonly waiting: (() => void)[] = []

  constructor(target: string | Target[]) {
    if (typeof target !== 'string') this.targets = target
    else {
      const url = new URL(target)
      this.targets = [{ host: url.hostname, port: Number(url.port || 5432) }]
    }
    this.connections = this.targets.map(() => 0)
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
      const index = this.next++ % this.targets.length
      this.connections[index]++
      const upstream = createConnection(this.targets[index])
      this.sockets.add(client).add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        this.sockets.delete(client)
        this.sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      this.forward(client, upstream)
      this.forward(upstream, client)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Copies bytes in order, after the latency and only while not blackholed. */
  private forward(from: Socket, to: Socket) {
    let chain = Promise.resolve()
    from.on('data', (chunk: Buffer) => {
      chain = chain.then(async () => {
        if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs))
        if (this.held) await new Promise<void>((r) => this.waiting.push(r))
        if (!to.destroyed) to.write(chunk)
      })
    })
  }

  /** Holds every byte in both directions until `heal()`: connections hang, nothing is refused. */
  blackhole(): void {
    this.held = true
  }

  heal(): void {
    this.held = false
    for (const release of this.waiting.splice(0)) release()
  }

  /** Resets every open connection; new ones are still accepted. */
  resetConnections(): void {
    // A reset after the socket began a graceful shutdown (the peer's FIN ends it) can leave the
    // native handle referenced on Node 24, and the process then spins at exit (found as a test
    // file that never exited; libp2p/js-libp2p#3597 hit the same): those are destroyed instead.
    for (const socket of this.sockets) {
      if (socket.writableEnded) socket.destroy()
      else socket.resetAndDestroy()
    }
    this.sockets.clear()
  }

  /** Refuses new connections and resets open ones. */
  async stop(): Promise<void> {
    this.heal()
    this.resetConnections()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
