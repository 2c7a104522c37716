import t from 'tap'
import { fork } from '../../reliability/lib/process.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'

t.test('a running job completes when the worker receives SIGTERM, and the worker exits 0', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url }, ['--queues', 'maintenance'])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)

  const boss = await startedBoss(t, sql, 'api')
  const id = (await boss.send('maintenance', { task: 'probe', holdMs: 1500 })) as string
  await waitFor(async () => (await boss.getJobById('maintenance', id))?.state === 'active', {
    what: 'the probe job to start'
  })
  worker.child.kill('SIGTERM')
  t.equal(await worker.exited, 0)
  const job = await boss.getJobById('maintenance', id)
  t.equal(job?.state, 'completed', 'the running job completed before exit')
  t.ok(worker.stdout.some((l) => /shutdown: queue stopped/.test(l)))
  t.ok(worker.stdout.some((l) => /shutdown complete/.test(l)))
})

t.test('the worker refuses an unknown queue name', async (t) => {
  const worker = fork('jobs/worker.ts', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, ['--queues', 'nope'])
  t.equal(await worker.exited, 2)
  t.match(worker.stdout.join('\n'), /unknown queue\(s\): nope/)
})
