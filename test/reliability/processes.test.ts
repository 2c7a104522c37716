import t from 'tap'
import { apiKill } from '../../reliability/scenarios/api-kill.ts'
import { sigtermUnderLoad } from '../../reliability/scenarios/sigterm.ts'
import { runShort } from '../helpers/reliability.ts'

t.test('SIGTERM under load: no resets, no 5xx but 503, slow requests complete, exit 0', async (t) => {
  const { figures } = await runShort(t, sigtermUnderLoad)
  t.ok((figures.requests as number) > 100, 'load was applied')
  t.equal(figures.connectionErrors, 0)
  t.equal(figures.other5xx, 0)
  t.equal(figures.slowRequestsCompleted, figures.slowRequests)
  t.equal(figures.exitCode, 0)
})

t.test('the api SIGKILLed during idempotent mutations: change exists iff its audit row does', async (t) => {
  const { figures } = await runShort(t, apiKill)
  t.ok((figures.connectionErrors as number) > 0, 'the kills interrupted requests')
  t.equal(figures.acknowledged, figures.keys, 'every key was acknowledged in the end')
  t.equal(figures.mutationsWithoutAudit, 0)
  t.equal(figures.auditsWithoutMutation, 0)
  t.equal(figures.duplicatedChanges, 0)
  t.equal(figures.acknowledgedButLost, 0)
})
