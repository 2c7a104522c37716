import t from 'tap'
import { workerKill } from '../../reliability/scenarios/worker-kill.ts'
import { runShort } from '../helpers/reliability.ts'

t.test('the worker SIGKILLed during a stream of jobs: none lost, each result written once', async (t) => {
  const { figures } = await runShort(t, workerKill)
  t.ok((figures.activeJobsAtKill as number) > 0, 'kills landed while jobs were active')
  t.equal(figures.lost, 0)
  t.equal(figures.completed, figures.created)
  t.equal(figures.resultWrittenTwice, 0)
})
