import t from 'tap'
import { network } from '../../reliability/scenarios/network.ts'
import { postgresRestart } from '../../reliability/scenarios/postgres-restart.ts'
import { redisDown } from '../../reliability/scenarios/redis-down.ts'
import { runShort } from '../helpers/reliability.ts'

t.test('Postgres stopped and restarted under load', async (t) => {
  const { figures } = await runShort(t, postgresRestart)
  t.ok((figures.requestsDuringOutage as number) > 0)
  t.equal(figures.other5xx, 0)
  t.equal(figures.timeouts, 0)
  t.ok((figures.recoveryMs as number) <= 5000, `recovered in ${figures.recoveryMs} ms`)
  t.equal(figures.jobsLost, 0)
  t.equal(figures.processesAlive, true)
  t.ok((figures.startWhileDownThenUpMs as number) >= 0, 'an api started while Postgres was down came up')
})

t.test('latency, a blackhole and resets between the api and Postgres', async (t) => {
  const { figures } = await runShort(t, network)
  const blackhole = figures.blackhole as Record<string, number>
  t.ok(blackhole['503'] > 0, 'requests failed fast during the blackhole')
  t.ok(blackhole.maxMs <= 2000, `no request waited past the timeout: ${blackhole.maxMs} ms`)
  t.equal(figures.readinessDuringBlackhole, 503)
})

t.test('Redis stopped during load', async (t) => {
  const { figures } = await runShort(t, redisDown)
  t.equal(figures.allowedWithRedis, figures.limit)
  t.ok((figures.limitedWithRedisDown as number) > 0, 'limiting went on without Redis')
  t.equal(figures.allowedAfterRecovery, 0, 'the shared counters were used again')
})
