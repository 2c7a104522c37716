import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Phase } from '../lib/context.ts'
import { LoadGenerator } from '../lib/load.ts'
import { costPerRequest } from '../lib/profile.ts'

const nowUs = () => Number(process.hrtime.bigint() / 1000n)

/**
 * The full stack's trivial routes under `node --cpu-prof` (server pinned to core 0, autocannon on
 * core 1): where each request's CPU goes. The profiler slows everything down, so the totals are
 * higher than the overhead phase's; the shares are what this phase is for.
 */
export const profile: Phase = {
  name: 'profile',
  async run(ctx) {
    ctx.log('profile: the full stack under node --cpu-prof, public and authenticated routes')
    const result: Record<string, unknown> = {}
    const load = LoadGenerator.start(1)
    for (const [name, path, bearer] of [
      ['public', '/bench/ping', null],
      ['authenticated', '/bench/me', ctx.token]
    ] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'sdc-prof-'))
      const server = await ctx.start('full', { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` }, 0)
      const spec = {
        url: `${server.address}${path}`,
        connections: ctx.connections,
        headers: (bearer ? { authorization: `Bearer ${bearer}` } : {}) as Record<string, string>
      }
      await load.run({ ...spec, seconds: ctx.warmupSeconds })
      const from = nowUs()
      const run = await load.run({ ...spec, seconds: ctx.smoke ? 1 : 5 })
      const to = nowUs()
      await server.stop()
      const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
      if (!file) throw new Error(`profile: the ${name} server wrote no profile`)
      result[name] = {
        ...(await costPerRequest(join(dir, file), from, to, Math.max(1, run.total))),
        non2xx: run.non2xx
      }
      await rm(dir, { recursive: true, force: true })
      ctx.log(`  ${name}: ${JSON.stringify(result[name])}`)
    }
    load.stop()
    return result
  }
}
