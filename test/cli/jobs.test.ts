import t from 'tap'
import { JOBS } from '../../jobs/registry.ts'
import { createQueues } from '../../src/queue/queues.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'

// The operator's job commands, as processes against a real database: list, retry one, retry a
// batch by when it failed (with a dry run), each retry audited like the admin API's.

t.test('jobs:list and jobs:retry', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const boss = await startedBoss(t, sql, 'cli')
  await createQueues(boss, JOBS)
  const cli = async (...args: string[]) => {
    const proc = fork('src/cli.ts', { DATABASE_URL: url }, args)
    const code = await proc.exited
    return { code, stdout: proc.stdout.join('\n'), stderr: proc.stderr.join('') }
  }
  const send = async () => (await boss.send('maintenance', { task: 'probe' })) as string
  const [recent, old, running] = [await send(), await send(), await send()]
  await sql`update pgboss.job set state = 'failed', completed_on = now() - interval '10 minutes' where id = ${recent}`
  await sql`update pgboss.job set state = 'failed', completed_on = now() - interval '3 hours' where id = ${old}`
  const state = async (id: string) => (await sql`select state::text from pgboss.job where id = ${id}`)[0].state

  const listed = await cli('jobs:list', '--queue', 'maintenance', '--state', 'failed', '--json')
  t.equal(listed.code, 0, listed.stderr)
  t.same(
    JSON.parse(listed.stdout)
      .map((j: { id: string }) => j.id)
      .sort(),
    [recent, old].sort(),
    'the failed jobs, and only them'
  )
  t.equal((await cli('jobs:list', '--state', 'nope')).code, 2, 'an unknown state is a usage error')

  const dry = await cli('jobs:retry', 'maintenance', '--failed-since', '1h', '--dry-run')
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, new RegExp(`would retry 1 job\\(s\\) of maintenance:\\n${recent}`))
  t.equal(await state(recent), 'failed', 'a dry run changes nothing')

  const batch = await cli('jobs:retry', 'maintenance', '--failed-since', '1h')
  t.equal(batch.code, 0, batch.stderr)
  t.match(batch.stdout, /retried 1 job\(s\) of maintenance/)
  t.equal(await state(recent), 'retry', 'the job that failed within the hour is retried')
  t.equal(await state(old), 'failed', 'the older one is not')

  const one = await cli('jobs:retry', 'maintenance', old)
  t.equal(one.code, 0, one.stderr)
  t.equal(await state(old), 'retry')
  const refused = await cli('jobs:retry', 'maintenance', running)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /only failed or cancelled jobs can be retried/)
  t.equal((await cli('jobs:retry', 'nope', old)).code, 2, 'an unknown queue is a usage error')

  const audit = await sql`
    select resource_type, resource_id, changes, method from app.audit_log where action = 'cli.job.retry' order by id
  `
  t.equal(audit.length, 2, 'each retry that changed something is audited')
  t.match(audit[0], { resource_type: 'job', method: 'CLI', changes: { queue: 'maintenance', ids: [recent] } })
  t.match(audit[1], { resource_id: old })
})
