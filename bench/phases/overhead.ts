import { type Phase, summary } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { compareTargets, ratios, type Target } from '../lib/measure.ts'
import type { Server } from '../lib/servers.ts'

export const overhead: Phase = {
  name: 'overhead',
  async run(ctx) {
    ctx.log('overhead: trivial routes, server on core 0, autocannon on core 1')
    const load = LoadGenerator.start(1)
    const [bare, boilerplate, full] = [
      await ctx.start('bare', {}, 0),
      await ctx.start('boilerplate', {}, 0),
      await ctx.start('full', {}, 0)
    ]
    const peerToken = (await ctx.post(`${boilerplate.address}/bench/token`, { sub: ctx.userId })).body.token as string
    const get = (server: Server, path: string, bearer?: string) => ({
      url: `${server.address}${path}`,
      connections: ctx.connections,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : ({} as Record<string, string>)
    })
    const targets: Target[] = [
      { name: 'bare', pid: bare.pid, spec: get(bare, '/bench/ping') },
      { name: 'boilerplatePublic', pid: boilerplate.pid, spec: get(boilerplate, '/bench/ping') },
      { name: 'boilerplateAuthenticated', pid: boilerplate.pid, spec: get(boilerplate, '/bench/me', peerToken) },
      { name: 'fullPublic', pid: full.pid, spec: get(full, '/bench/ping') },
      { name: 'fullAuthenticated', pid: full.pid, spec: get(full, '/bench/me', ctx.token) }
    ]
    const figures = await compareTargets(load, targets, {
      rounds: ctx.rounds,
      seconds: ctx.seconds,
      warmupSeconds: ctx.warmupSeconds
    })
    load.stop()
    for (const s of [bare, boilerplate, full]) await s.stop()
    const result = {
      targets: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, summary(f)])),
      fullPublicVsBare: ratios(figures, 'bare', 'fullPublic'),
      fullAuthenticatedVsBare: ratios(figures, 'bare', 'fullAuthenticated'),
      boilerplatePublicVsBare: ratios(figures, 'bare', 'boilerplatePublic'),
      fullAuthenticatedVsBoilerplate: ratios(figures, 'boilerplateAuthenticated', 'fullAuthenticated')
    }
    for (const [k, f] of Object.entries(figures))
      ctx.log(`  ${k}: ${f.requestsPerSec} req/s, ${f.cpuUsPerRequest} µs CPU/request`)
    return result
  }
}
