import t from 'tap'
import { fromPostgresJs } from '../../src/queue/boss.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'

t.test('pg-boss runs on the postgres.js adapter and send joins the caller transaction', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const errors: Error[] = []
  const boss = await startedBoss(t, sql, 'worker', (e) => errors.push(e))
  await boss.createQueue('tx_test')

  const count = async () => (await sql`select count(*)::int as n from pgboss.job where name = 'tx_test'`)[0].n

  await t.rejects(
    sql.begin(async (tx) => {
      await boss.send('tx_test', { n: 1 }, { db: fromPostgresJs(tx) })
      t.equal(
        (await tx`select count(*)::int as n from pgboss.job where name = 'tx_test'`)[0].n,
        1,
        'the job is visible inside the transaction'
      )
      throw new Error('roll back')
    }),
    { message: 'roll back' }
  )
  t.equal(await count(), 0, 'rollback leaves no job')

  const id = await sql.begin((tx) => boss.send('tx_test', { n: 2 }, { db: fromPostgresJs(tx) }))
  t.equal(await count(), 1, 'commit leaves exactly one job')

  const seen: unknown[] = []
  await boss.work('tx_test', { batchSize: 5, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    for (const job of jobs) seen.push(job.data)
  })
  await waitFor(async () => (await boss.getJobById('tx_test', id as string))?.state === 'completed', {
    what: 'the committed job to complete'
  })
  t.same(seen, [{ n: 2 }])
  t.same(errors, [])
})
