import t from 'tap'
import { Type } from 'typebox'
import { JOBS as QUEUES } from '../../jobs/registry.ts'
import { withJobTelemetry } from '../../jobs/telemetry.ts'
import { fromPostgresJs } from '../../src/queue/boss.ts'
import { enqueueJob } from '../../src/queue/enqueue.ts'
import { PermanentJobError } from '../../src/queue/jobs.ts'
import { jobMessage, jobPayload } from '../../src/queue/messages.ts'
import { createQueues } from '../../src/queue/queues.ts'
import { startedBoss } from '../helpers/boss.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'

const Lifecycle = jobMessage('lifecycle', jobPayload({ mode: Type.String() }))
/** A payload each of the app's queues accepts. */
const SAMPLES: Record<string, object> = {
  simulation: { runId: '0192f0c4-0000-7000-8000-000000000001', ownerId: '0192f0c4-0000-7000-8000-00000000000a' },
  grading: { gradeId: '0192f0c4-0000-7000-8000-000000000002', ownerId: '0192f0c4-0000-7000-8000-00000000000a' },
  export: { exportId: '0192f0c4-0000-7000-8000-000000000003', ownerId: '0192f0c4-0000-7000-8000-00000000000a' },
  email: { kind: 'verify', userId: null },
  maintenance: { task: 'housekeeping' }
}

t.test('job lifecycle telemetry', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const boss = await startedBoss(t, sql, 'worker')
  await boss.createQueue('lifecycle_dead')
  await boss.createQueue('lifecycle', { retryLimit: 1, retryDelay: 0, deadLetter: 'lifecycle_dead' })

  // What each job does is decided by its data: the handler is the real wrapper's payload.
  const attempts = new Map<string, number>()
  const handler = withJobTelemetry<{ mode: string; requestId?: string }>(sql, 'lifecycle', async (job) => {
    const n = (attempts.get(job.id) ?? 0) + 1
    attempts.set(job.id, n)
    if (job.data.mode === 'ok') return { done: true }
    // Its claim lapses while it runs (as when a heartbeat is missed and the job is retried).
    if (job.data.mode === 'lapse' && n === 1) await boss.fail('lifecycle', job.id, { lapsed: true })
    if (job.data.mode === 'lapse') return n
    if (job.data.mode === 'flaky' && n > 1) return { done: true, attempts: n }
    if (job.data.mode === 'poison') throw new PermanentJobError('payload is invalid')
    throw new Error(`attempt ${n} failed`)
  })
  await boss.work(
    'lifecycle',
    { batchSize: 10, pollingIntervalSeconds: 0.5, includeMetadata: true, perJobResults: true },
    handler
  )

  const send = (mode: string, requestId: string) =>
    sql.begin((tx) => enqueueJob(boss, tx, Lifecycle, { mode }, requestId)) as Promise<string>
  const events = async (id: string) =>
    await sql`select event, attempt, request_id, error_message from app.job_telemetry where job_id = ${id} order by created_at, event <> 'queued'`

  const terminal = (id: string, n: number) =>
    waitFor(
      async () => {
        const rows = await events(id)
        return rows.length >= n ? rows : null
      },
      { timeoutMs: 20_000, what: `job ${id} to reach ${n} events` }
    )

  t.test('a job that succeeds: queued, running, completed, with the request id', async (t) => {
    const id = await send('ok', 'req-ok')
    const rows = await terminal(id, 3)
    t.same(
      rows.map((r) => r.event),
      ['queued', 'running', 'completed']
    )
    t.ok(rows.every((r) => r.request_id === 'req-ok'))
    t.same(
      rows.map((r) => r.attempt),
      [0, 1, 1]
    )
  })

  t.test('a completion stores its output as pg-boss does, in the statement that records it', async (t) => {
    const id = await send('ok', 'req-output')
    await terminal(id, 3)
    const job = await boss.getJobById('lifecycle', id)
    t.match(job, { state: 'completed', output: { done: true } })
    t.ok(job?.completedOn, 'completed_on is set')
    // One transaction wrote both: pg-boss's own settlement afterwards found the job settled and
    // left the row alone (a separate settlement would carry another transaction id).
    const [written] = await sql`
      select (select xmin::text from pgboss.job where id = ${id}) as job,
             (select xmin::text from app.job_telemetry where job_id = ${id} and event = 'completed') as row
    `
    t.equal(written.job, written.row, 'the job was completed by the statement that recorded it')
  })

  t.test('a job whose claim lapsed records no completion for that attempt', async (t) => {
    const id = await send('lapse', 'req-lapse')
    const rows = await terminal(id, 4)
    t.same(
      rows.map((r) => [r.event, r.attempt]),
      [
        ['queued', 0],
        ['running', 1],
        ['running', 2],
        ['completed', 2]
      ]
    )
    t.match(await boss.getJobById('lifecycle', id), { state: 'completed', output: { value: 2 } })
  })

  t.test('a job that retries then succeeds', async (t) => {
    const id = await send('flaky', 'req-flaky')
    const rows = await terminal(id, 5)
    t.same(
      rows.map((r) => r.event),
      ['queued', 'running', 'retry', 'running', 'completed']
    )
    t.match(rows[2].error_message, /attempt 1 failed/)
  })

  t.test('a job that keeps failing ends failed and in its dead-letter queue', async (t) => {
    const id = await send('fail', 'req-fail')
    const rows = await terminal(id, 5)
    t.same(
      rows.map((r) => r.event),
      ['queued', 'running', 'retry', 'running', 'failed']
    )
    await waitFor(async () => (await boss.getJobById('lifecycle', id))?.state === 'failed')
    const dead = await waitFor(async () => {
      const found = await sql`select id from pgboss.job where name = 'lifecycle_dead'`
      return found.length ? found : null
    })
    t.equal(dead.length, 1)
  })

  t.test('a poison payload fails at once, without retry, to the dead-letter queue', async (t) => {
    const id = await send('poison', 'req-poison')
    const rows = await terminal(id, 3)
    t.same(
      rows.map((r) => r.event),
      ['queued', 'running', 'failed']
    )
    await waitFor(
      async () => (await sql`select count(*)::int as n from pgboss.job where name = 'lifecycle_dead'`)[0].n === 2
    )
    t.equal(attempts.get(id), 1, 'it ran once')
  })

  t.test('a rolled-back enqueue leaves neither job nor telemetry', async (t) => {
    let id = ''
    await t.rejects(
      sql.begin(async (tx) => {
        id = (await enqueueJob(boss, tx, Lifecycle, { mode: 'ok' }, 'req-rollback')) as string
        throw new Error('roll back')
      })
    )
    t.same(await events(id), [])
  })
})

t.test('a plain job is the row pg-boss send writes, with its queued row in the same statement', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const boss = await startedBoss(t, sql, 'cli')
  await createQueues(boss, QUEUES)

  for (const queue of QUEUES) {
    const { name } = queue
    const viaSend = (await sql.begin((tx) =>
      boss.send(name, { ...SAMPLES[name], requestId: 'req-same' }, { db: fromPostgresJs(tx) })
    )) as string
    const direct = (await sql.begin((tx) => enqueueJob(boss, tx, queue, SAMPLES[name], 'req-same'))) as string
    const row = async (id: string) => {
      const [job] = await sql`
        select *, keep_until - start_after as kept, created_on - start_after as delay
        from pgboss.job
        where id = ${id}
      `
      const { id: _id, created_on: _c, start_after: _s, keep_until: _k, ...rest } = job
      return rest
    }
    t.same(await row(direct), await row(viaSend), `${name}: every column as send writes it`)
    t.same(
      await sql`select event, attempt, request_id from app.job_telemetry where job_id = ${direct}`,
      [{ event: 'queued', attempt: 0, request_id: 'req-same' }],
      `${name}: its queued row`
    )
  }

  await t.rejects(
    sql.begin((tx) => enqueueJob(boss, tx, jobMessage('no_such_queue', jobPayload({})), {}, null)),
    { message: /queue no_such_queue refused the job/ },
    'a missing queue is refused, and nothing is written'
  )
  t.same(await sql`select * from app.job_telemetry where queue = 'no_such_queue'`, [])
})
