import t from 'tap'
import { workerKill } from '../../reliability/scenarios/worker-kill.ts'
import { runShort } from '../helpers/reliability.ts'

t.test('the worker SIGKILLed during a stream of jobs: none lost, each result written once', async (t) => {
  const { figures } = await runShort(t, workerKill)
  t.equal(figures.kills, 3, 'every kill landed while the worker held jobs')
  t.ok((figures.activeJobsAtKill as number) >= 3, 'each kill cut off at least one active job')
  t.ok((figures.jobsDuplicated as number) > 0, 'runs cut off mid-computation were claimed again')
  t.equal(figures.jobsLost, 0)
  t.equal(figures.jobsCompleted, figures.jobsCreated)
  t.equal(figures.jobsResultWrittenTwice, 0)
})
