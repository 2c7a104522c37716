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

t.test('a parameter reaches Postgres as pg-boss wrote it, whatever type the statement casts it to', async (t) => {
  const { url } = await createTestDatabase(t)
  const db = fromPostgresJs(testSql(t, url))
  const when = new Date('2027-01-01T07:00:00.000Z')
  const { rows } = await db.executeSql(
    `select json_typeof($1::json) as json, jsonb_typeof($2::jsonb) as jsonb, $3::timestamptz as zoned,
       $4::bool as bool, $5::text[] as texts, cardinality($6::uuid[]) as uuids, $7::int + 1 as int,
       $8::timestamptz as date, $9::jsonb as object, $10::text as nothing`,
    [
      JSON.stringify([{ name: 'q', key: '' }]),
      '"scalar"',
      '2027-01-01 08:00:00 Europe/Paris',
      'true',
      ['a', 'b "c"', null],
      ['00000000-0000-4000-8000-000000000000'],
      41,
      when,
      { a: [1] },
      null
    ]
  )
  t.same(rows, [
    {
      json: 'array',
      jsonb: 'string',
      zoned: when,
      bool: true,
      texts: ['a', 'b "c"', null],
      uuids: 1,
      int: 42,
      date: when,
      object: { a: [1] },
      nothing: null
    }
  ])
})

t.test('a fired schedule records the job it sent as its last job (issue 31)', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const errors: Error[] = []
  // Written by an instance that does not keep time, so the worker's first cron pass (at start) fires it.
  const setup = await startedBoss(t, sql, 'cli')
  await setup.createQueue('every_minute')
  await setup.schedule('every_minute', '* * * * *', { n: 1 })
  await startedBoss(t, sql, 'worker', (e) => errors.push(e))
  const [schedule] = await waitFor(
    async () => {
      const rows = await sql`select last_job_id from pgboss.schedule where name = 'every_minute'`
      return rows[0]?.last_job_id ? rows : null
    },
    { timeoutMs: 15_000, what: 'the schedule to fire and record its job' }
  )
  const [job] = await sql`select name, data from pgboss.job where id = ${schedule.last_job_id}`
  t.same(job, { name: 'every_minute', data: { n: 1 } }, 'last_job_id names the job the firing sent')
  t.same(
    errors.map((e) => e.message),
    [],
    'no error from the send-it pass'
  )
})

t.test('every pg-boss call the app makes runs through the adapter, with values as pg-boss passed them', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const errors: Error[] = []
  const boss = await startedBoss(t, sql, 'worker', (e) => errors.push(e))
  const job = async (id: string | null) => boss.getJobById('adapter', id as string)

  await boss.createQueue('adapter_dead', { retentionSeconds: 86400 })
  await boss.createQueue('adapter', { retryLimit: 1, retryDelay: 0, deadLetter: 'adapter_dead', heartbeatSeconds: 10 })
  await boss.updateQueue('adapter', { retryLimit: 2, retryBackoff: true })
  t.match(await boss.getQueue('adapter'), {
    name: 'adapter',
    retryLimit: 2,
    retryBackoff: true,
    deadLetter: 'adapter_dead'
  })
  t.same((await boss.getQueues(['adapter', 'adapter_dead'])).map((q) => q.name).sort(), ['adapter', 'adapter_dead'])

  // Strings that read as JSON, a boolean or a date stay the strings they were.
  const data = {
    json: '{"a":1}',
    quoted: '"x"',
    bool: 'true',
    date: '2027-01-01 08:00:00 America/New_York',
    nested: { list: [1, 'two', null] },
    text: 'ümlaut ✓ \\ "'
  }
  const plain = await boss.send('adapter', data)
  t.same((await job(plain))?.data, data, 'send: the data round-trips exactly')
  const at = new Date(Date.now() + 3_600_000)
  const deferred = await boss.send('adapter', {}, { startAfter: at })
  t.equal((await job(deferred))?.startAfter.getTime(), at.getTime(), 'send: a Date startAfter')
  const isoDeferred = await boss.send('adapter', {}, { startAfter: at.toISOString() })
  t.equal((await job(isoDeferred))?.startAfter.getTime(), at.getTime(), 'send: an ISO string startAfter')
  const key = '{"user":"k"}'
  const keyed = await boss.send('adapter', {}, { singletonKey: key, singletonSeconds: 60 })
  t.equal((await job(keyed))?.singletonKey, key, 'send: a singleton key that reads as JSON')
  t.equal(await boss.send('adapter', {}, { singletonKey: key, singletonSeconds: 60 }), null, 'and it throttles')
  // enqueueJob's path: send on the caller's transaction, prepared.
  const grouped = await sql.begin((tx) =>
    boss.send('adapter', { g: 1 }, { group: { id: 'user-a', tier: 'free' }, db: fromPostgresJs(tx, { prepare: true }) })
  )
  t.match(await job(grouped), { groupId: 'user-a', groupTier: 'free', data: { g: 1 } }, 'send: a group')
  const inserted = await boss.insert('adapter', [{ data: { i: 1 } }, { data: { i: 2 }, group: { id: 'user-b' } }], {
    returnId: true
  })
  t.equal(inserted?.length, 2, 'insert')

  // fetch, one job of a group at a time; touch, complete, fail, retry.
  await boss.createQueue('adapter_fetch', { retryLimit: 0 })
  for (const group of ['a', 'a', 'b', 'c', 'c']) await boss.send('adapter_fetch', { group }, { group: { id: group } })
  const fetched = await boss.fetch('adapter_fetch', { batchSize: 10, groupConcurrency: 1, includeMetadata: true })
  t.same(fetched.map((j) => j.groupId).sort(), ['a', 'b', 'c'], 'fetch: one job of each group')
  t.same(
    await boss.fetch('adapter_fetch', { batchSize: 10, groupConcurrency: 1 }),
    [],
    'none while each has one active'
  )
  const [a, b, c] = [...fetched].sort((x, y) => String(x.groupId).localeCompare(String(y.groupId)))
  t.match(await boss.touch('adapter_fetch', a), { affected: 1 }, 'touch')
  t.match(await boss.complete('adapter_fetch', a, { out: '{"not":"parsed"}' }), { affected: 1 }, 'complete')
  t.match(await boss.getJobById('adapter_fetch', a.id), { state: 'completed', output: { out: '{"not":"parsed"}' } })
  t.match(await boss.fail('adapter_fetch', b, { why: 'x' }), { affected: 1 }, 'fail')
  t.match(await boss.getJobById('adapter_fetch', b.id), { state: 'failed', output: { why: 'x' } })
  t.match(await boss.retry('adapter_fetch', b.id), { affected: 1 }, 'retry')
  t.match(await boss.getJobById('adapter_fetch', b.id), { state: 'retry' })
  const next = await boss.fetch('adapter_fetch', { batchSize: 10, groupConcurrency: 1 })
  t.same(next.map((j) => j.groupId).sort(), ['a', 'b'], 'a group whose job settled is fetched again')
  await boss.complete('adapter_fetch', [...next, c])

  // work with per-job results, woken by notifyWorker rather than its (minute-long) poll.
  await boss.createQueue('adapter_work')
  const seen: unknown[] = []
  const id = await boss.work(
    'adapter_work',
    { batchSize: 5, pollingIntervalSeconds: 60, includeMetadata: true, perJobResults: true, groupConcurrency: 1 },
    async (jobs) => {
      seen.push(...jobs.map((j) => j.data))
      return jobs.map((j) => ({ id: j.id, status: 'completed' as const, output: { ok: true } }))
    }
  )
  await new Promise((r) => setTimeout(r, 200))
  const worked = await boss.send('adapter_work', { w: 1 }, { group: { id: 'user-w' } })
  boss.notifyWorker(id)
  await waitFor(async () => (await boss.getJobById('adapter_work', worked as string))?.state === 'completed', {
    what: 'the worked job to complete',
    timeoutMs: 5000
  })
  t.same(seen, [{ w: 1 }], 'work: the handler saw the job')

  // schedule; supervise (the worker's maintenance pass, run now).
  await boss.schedule('adapter', '*/15 * * * *', { task: 'x' }, { key: 'k', tz: 'Europe/Paris' })
  t.match(await boss.getSchedules('adapter'), [
    { name: 'adapter', key: 'k', cron: '*/15 * * * *', data: { task: 'x' } }
  ])
  await boss.unschedule('adapter', 'k')
  t.same(await boss.getSchedules('adapter'), [])
  await boss.supervise('adapter')
  t.same(
    errors.map((e) => e.message),
    []
  )
})
