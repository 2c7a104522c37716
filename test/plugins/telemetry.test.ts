import t from 'tap'
import { maintainPartitions } from '../../jobs/maintenance.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000' }
const boomRoute = (app: import('fastify').FastifyInstance) => {
  app.get('/test/boom', { config: { auth: 'public' } }, async () => {
    throw new Error('boom')
  })
}

t.test('request telemetry', async (t) => {
  const { url } = await createTestDatabase(t)
  // As a superuser: the checks take the table away and watch the app's sessions in pg_stat_activity.
  const sql = testSql(t, superuserUrl(url))
  const count = async (prefix: string) =>
    (await sql`select count(*)::int as n from app.request_telemetry where request_id like ${`${prefix}%`}`)[0].n

  t.test('at sample rate 1 every request is one row with its fields', async (t) => {
    const { app } = await buildTestApp(t, url, ENV)
    for (let i = 0; i < 25; i++) {
      await app.inject({
        url: `/health/live?i=${i}`,
        headers: { 'x-request-id': `all-${i}`, 'user-agent': 'tap-test' }
      })
    }
    await app.telemetry.flush()
    t.equal(await count('all-'), 25)
    const [row] = await sql`select * from app.request_telemetry where request_id = 'all-3'`
    t.match(row, {
      method: 'GET',
      route: '/health/live',
      path: '/health/live',
      status_code: 200,
      user_agent: 'tap-test',
      client_ip: '127.0.0.1'
    })
    t.equal(row.path, '/health/live', 'the path without its query string')
    t.ok(row.duration_ms >= 0)
    t.ok(Math.abs(row.created_at.getTime() - Date.now()) < 60_000, 'created at the request, to the millisecond')
    t.equal(row.user_id, null, 'no user on a public route')
    const stats = app.telemetry.stats()
    t.equal(stats.buffered, 0, 'the flush emptied the buffer')
    t.ok(stats.written >= 25, `written counts the rows (${stats.written})`)
    t.equal(stats.dropped, 0)
  })

  t.test('text that an array literal must escape arrives as sent; absent fields as NULL', async (t) => {
    const { app } = await buildTestApp(t, url, ENV)
    // Quotes, backslashes, braces, commas, spaces and the word NULL: each means something in `{…}`.
    const agent = 'a "quoted" \\ back\\slash, {braced} NULL  agent'
    const path = '/no-such/%22quoted%22/%7Bx%7D,y/NULL'
    await app.inject({ url: path, headers: { 'x-request-id': 'esc-1', 'user-agent': agent } })
    await app.inject({ url: '/health/live', headers: { 'x-request-id': 'esc-2', 'user-agent': 'NULL' } })
    await app.telemetry.flush()
    const [row] = await sql`select * from app.request_telemetry where request_id = 'esc-1'`
    t.ok(row, 'the row of the request whose text needs escaping')
    t.match(row, { user_agent: agent, path, status_code: 404, method: 'GET' })
    t.equal(row.route, null, 'no route matched: NULL')
    t.equal(row.user_id, null, 'no user: NULL')
    t.equal(row.trace_id, null, 'no tracing: NULL')
    const [plain] = await sql`select user_agent, route from app.request_telemetry where request_id = 'esc-2'`
    t.same(plain, { user_agent: 'NULL', route: '/health/live' }, 'the text "NULL" is text, not a NULL')
  })

  t.test('at sample rate 0 only 5xx responses are kept', async (t) => {
    const { app } = await buildTestApp(t, url, { ...ENV, REQUEST_TELEMETRY_SAMPLE_RATE: '0' }, boomRoute)
    for (let i = 0; i < 10; i++) await app.inject({ url: '/health/live', headers: { 'x-request-id': `none-${i}` } })
    for (let i = 0; i < 3; i++) await app.inject({ url: '/test/boom', headers: { 'x-request-id': `none-err-${i}` } })
    await app.telemetry.flush()
    t.equal(await count('none-err-'), 3)
    t.equal(await count('none-'), 3, 'no 2xx row was kept')
  })

  t.test('requests keep succeeding when the telemetry table is unavailable; drops are counted', async (t) => {
    const { app, logs } = await buildTestApp(t, url, ENV)
    await sql`alter table app.request_telemetry rename to request_telemetry_offline`
    t.teardown(() => sql`alter table app.request_telemetry_offline rename to request_telemetry`)
    for (let i = 0; i < 10; i++) {
      const res = await app.inject({ url: '/health/live' })
      t.equal(res.statusCode, 200)
    }
    await app.telemetry.flush()
    t.equal(app.telemetry.stats().dropped, 10)
    t.ok(logs.lines.some((l) => /telemetry insert failed: dropped 10/.test(String(l.msg))))
  })

  t.test('while a flush is held up, later rows wait for the next: one insert at a time, none lost', async (t) => {
    const { app } = await buildTestApp(t, url, ENV)
    // A lock of our own holds every insert into the table (SHARE conflicts with an insert's ROW EXCLUSIVE).
    const holder = await sql.reserve()
    await holder`begin`
    await holder`lock table app.request_telemetry in share mode`
    const inserts = async () =>
      (
        await sql`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
            and query like '%insert into app.request_telemetry%'`
      )[0].n
    // Past the 500-row threshold twice over while the first flush waits on the lock.
    for (let i = 0; i < 1200; i++) await app.inject({ url: '/health/live', headers: { 'x-request-id': `held-${i}` } })
    await waitFor(async () => (await inserts()) >= 1, { what: 'the first flush to wait on the lock' })
    t.equal(await inserts(), 1, 'one insert in flight, not one per 500 rows')
    t.ok(app.telemetry.stats().buffered >= 700, `the later rows wait in the buffer (${app.telemetry.stats().buffered})`)
    await holder`rollback`
    holder.release()
    await app.telemetry.flush()
    t.equal(await count('held-'), 1200, 'every row written once the lock is gone')
    t.equal(app.telemetry.stats().dropped, 0)
  })

  t.test('the buffer is flushed on SIGTERM', async (t) => {
    const api = fork('src/server.ts', {
      DATABASE_URL: url,
      API_PORT: '0',
      SHUTDOWN_DRAIN_MS: '0',
      RATE_LIMIT_MAX_REQUESTS: '100000',
      // No timed flush during the test: what is written comes from the shutdown's flush.
      TELEMETRY_FLUSH_INTERVAL_MS: '60000'
    })
    t.teardown(() => {
      api.child.kill('SIGKILL')
    })
    const port = Number(/:(\d+)$/.exec(String((await api.waitForLog(/Server listening/)).msg))?.[1])
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`http://127.0.0.1:${port}/health/live`, { headers: { 'x-request-id': `sigterm-${i}` } })
      )
    )
    t.equal(await count('sigterm-'), 0, 'nothing written yet (buffered below the flush size)')
    api.child.kill('SIGTERM')
    t.equal(await api.exited, 0)
    t.equal(await count('sigterm-'), 40, 'every served request has its row after the drain')
    t.ok(api.stdout.some((l) => /telemetry flushed/.test(l)))
  })

  t.test('maintenance creates partitions ahead and drops those past retention', async (t) => {
    const partitions = async () =>
      (
        await sql`
          select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
          join pg_class p on p.oid = i.inhparent where p.relname = 'request_telemetry' order by 1
        `
      ).map((r) => r.relname)
    const day = new Date('2031-03-10T12:00:00Z')
    const made = await maintainPartitions(sql, day, 14)
    t.equal(made.created, 8, 'four days of both tables')
    t.ok((await partitions()).includes('request_telemetry_20310313'))
    const again = await maintainPartitions(sql, day, 14)
    t.equal(again.created, 0, 'idempotent')
    await sql`insert into app.request_telemetry (created_at, request_id, method, path, status_code, duration_ms)
              values ('2031-03-10T05:00:00Z', 'partitioned', 'GET', '/x', 200, 1)`
    const [{ tableoid }] =
      await sql`select tableoid::regclass::text as tableoid from app.request_telemetry where request_id = 'partitioned'`
    t.equal(tableoid, 'app.request_telemetry_20310310', 'rows land in their day')
    const later = await maintainPartitions(sql, new Date('2031-03-26T00:00:00Z'), 14)
    t.ok(later.dropped >= 4, 'days older than 14 were dropped')
    const left = await partitions()
    t.notOk(left.includes('request_telemetry_20310310'))
    t.ok(left.includes('request_telemetry_20310313'), 'days within retention stay')
  })
})
