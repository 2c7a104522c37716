import t from 'tap'
import { abuse } from '../../reliability/scenarios/abuse.ts'
import { fuzz, replayHint } from '../../reliability/scenarios/fuzz.ts'
import { scaleOut } from '../../reliability/scenarios/scale-out.ts'
import { runShort } from '../helpers/reliability.ts'

t.test('two apis and two workers behind a round-robin proxy', async (t) => {
  const { figures } = await runShort(t, scaleOut)
  t.equal(figures.authAllowedInTotal, figures.authLimit)
  t.equal(figures.lockoutThroughFirst, 423)
  t.equal(figures.lockoutThroughSecond, 423)
  t.equal(figures.jobsLost, 0)
  t.equal(figures.jobsResultWrittenTwice, 0)
})

t.test('schema fuzzing over every route', async (t) => {
  const { figures } = await runShort(t, fuzz)
  t.ok((figures.routes as number) >= 30)
  t.ok((figures.routesWith2xx as number) >= 30, 'valid inputs reached a 2xx on nearly every route')
  const attacks = figures.pathological as Record<string, number>
  t.ok(attacks.refused >= 4, `attack designs refused with a 422: ${attacks.refused}`)
  t.ok(attacks.accepted >= 1, `attack designs within the limits accepted: ${attacks.accepted}`)
  t.equal(attacks.runsEnded, attacks.accepted, 'every accepted attack design’s run ended within its deadline')
  t.ok(attacks.readinessProbes > 0, 'readiness was probed while they arrived')
  t.comment(replayHint(figures.seed))
})

t.test('the abuse shapes: preview bombs, an anonymous flood, a flooding user', async (t) => {
  const { figures } = await runShort(t, abuse)
  const statuses = figures.previewStatuses as Record<string, number>
  t.equal((statuses[422] ?? 0) + (statuses[503] ?? 0), figures.previews, 'every bomb refused, none computed')
  t.ok((figures.slowestProbeMs as number) < 1000, `probes answered within 1 s: ${figures.slowestProbeMs} ms`)
  t.ok((figures.auditRowsWritten as number) <= 10, `the anonymous flood left ${figures.auditRowsWritten} audit rows`)
  t.ok((figures.floodStillWaiting as number) > 0, 'the flood was still queued when the other user’s run ended')
  t.ok(
    (figures.otherUsersTimeToResultMs as number) <= 3000,
    `its time to result: ${figures.otherUsersTimeToResultMs} ms`
  )
})
