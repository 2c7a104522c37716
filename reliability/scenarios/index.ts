import type { Context, Result } from '../../test/helpers/stack.ts'
import { abuse } from './abuse.ts'
import { apiKill } from './api-kill.ts'
import { fuzz } from './fuzz.ts'
import { network } from './network.ts'
import { postgresRestart } from './postgres-restart.ts'
import { redisDown } from './redis-down.ts'
import { scaleOut } from './scale-out.ts'
import { sigtermUnderLoad } from './sigterm.ts'
import { workerKill } from './worker-kill.ts'

export interface Scenario {
  run: (ctx: Context) => Promise<Result>
  needsRedis?: boolean
}

/** Every scenario, in the order `npm run reliability` runs them. */
export const SCENARIOS: Record<string, Scenario> = {
  fuzz: { run: fuzz },
  abuse: { run: abuse },
  sigterm: { run: sigtermUnderLoad },
  'api-kill': { run: apiKill },
  'worker-kill': { run: workerKill },
  'postgres-restart': { run: postgresRestart },
  network: { run: network },
  'redis-down': { run: redisDown, needsRedis: true },
  'scale-out': { run: scaleOut, needsRedis: true }
}
