import t from 'tap'
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
  t.comment(replayHint(figures.seed))
})
