import t from 'tap'
import { readHealthChecks, runHealthCheck } from '../../src/db/health.ts'
import { createTestDatabase, testSql } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'

t.test('SQL health checks on seeded telemetry', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const checks = await readHealthChecks()
  const run = async (name: string) => runHealthCheck(sql, checks.find((c) => c.name === name) as never)
  t.same(
    checks.map((c) => c.name),
    [
      'active_lockouts',
      'api_errors',
      'failed_jobs',
      'privileged_mutations',
      'queue_backlog',
      'refresh_reuse',
      'slo',
      'slow_routes'
    ]
  )

  const check = async (expectBreached: string[]) => {
    const proc = fork('src/cli.ts', { DATABASE_URL: url }, ['health', '--check'])
    const code = await proc.exited
    for (const name of expectBreached) t.match(proc.stderr.join(''), new RegExp(`BREACHED ${name}`))
    return code
  }

  t.test('healthy: every baseline met, exit 0', async (t) => {
    for (let i = 0; i < 200; i++) {
      await sql`insert into app.request_telemetry (created_at, request_id, method, route, path, status_code, duration_ms)
                values (now() - interval '1 minute', ${`ok-${i}`}, 'GET', '/workspaces/:id', '/workspaces/x', 200, ${20 + (i % 50)})`
    }
    t.equal(await check([]), 0)
    const slow = await run('slow_routes')
    t.match(slow[0], { method: 'GET', route: '/workspaces/:id', requests: 200 })
    t.ok(Number(slow[0].p95_ms) >= 60 && Number(slow[0].p95_ms) <= 70, `p95 ${slow[0].p95_ms}`)
  })

  t.test('errors, slow reads and failed jobs breach their baselines, exit 1', async (t) => {
    for (let i = 0; i < 20; i++) {
      await sql`insert into app.request_telemetry (created_at, request_id, method, route, path, status_code, duration_ms)
                values (now(), ${`slow-extra-${i}`}, 'GET', '/simulations/:id', '/simulations/x', 200, 5000)`
    }
    for (let i = 0; i < 10; i++) {
      await sql`insert into app.request_telemetry (created_at, request_id, method, route, path, status_code, duration_ms)
                values (now(), ${`err-${i}`}, 'POST', '/workspaces', '/workspaces', 503, 5)`
      await sql`insert into app.request_telemetry (created_at, request_id, method, route, path, status_code, duration_ms)
                values (now(), ${`slow-${i}`}, 'GET', '/simulations/:id', '/simulations/x', 200, 5000)`
      await sql`insert into app.job_telemetry (queue, job_id, event, attempt, error_message)
                values ('simulation', gen_random_uuid(), 'failed', 4, 'boom')`
    }
    t.equal(await check(['api_5xx_rate', 'job_failure_rate', 'read_p95_ms']), 1)
    const errors = await run('api_errors')
    t.match(errors[0], { method: 'POST', route: '/workspaces', status_code: 503, requests: 10 })
    const failed = await run('failed_jobs')
    t.match(failed[0], { queue: 'simulation', failed: 10, last_error: 'boom' })
    const json = fork('src/cli.ts', { DATABASE_URL: url }, ['health', '--check', '--json'])
    t.equal(await json.exited, 1)
    const parsed = JSON.parse(json.stdout.join(''))
    t.equal(parsed.ok, false)
    t.equal(parsed.breaches.length, 3)
  })

  t.test('lockouts, reuse, privileged actions and backlog show up', async (t) => {
    await sql`insert into app.login_lockouts (email_normalized, client_key, failed_count, window_started_at, locked_until)
              values ('locked@example.com', '203.0.113.7', 5, now(), now() + interval '10 minutes'),
                     ('expired@example.com', '203.0.113.7', 5, now(), now() - interval '1 minute')`
    const lockouts = await run('active_lockouts')
    t.same(
      lockouts.map((l) => l.email_normalized),
      ['locked@example.com']
    )
    await sql`insert into app.audit_log (action, outcome, resource_id) values ('auth.refresh.reuse', 'denied', 'fam-1'),
              ('admin.user.unlock', 'success', 'u1'), ('workspace.update', 'success', 'w1')`
    t.match(await run('refresh_reuse'), [{ family_id: 'fam-1' }])
    const privileged = await run('privileged_mutations')
    t.same(
      privileged.map((p) => p.action),
      ['admin.user.unlock']
    )
    const { createBoss } = await import('../../src/queue/boss.ts')
    const { createQueues } = await import('../../src/queue/queues.ts')
    const { JOBS } = await import('../../jobs/registry.ts')
    const boss = createBoss(sql, { role: 'cli', onError: () => {} })
    await boss.start()
    await createQueues(boss, JOBS)
    await boss.send('export', { exportId: '00000000-0000-4000-8000-000000000000' })
    await boss.stop({ graceful: false, close: false })
    const backlog = await run('queue_backlog')
    t.match(
      backlog.find((b) => b.queue === 'export'),
      { waiting: 1, active: 0 }
    )
    t.ok(Number(backlog.find((b) => b.queue === 'export')?.oldest_waiting_seconds) >= 0)
  })

  t.test('the readable report prints every check', async (t) => {
    const proc = fork('src/cli.ts', { DATABASE_URL: url }, ['health'])
    t.equal(await proc.exited, 0, proc.stderr.join(''))
    for (const c of checks) t.match(proc.stdout.join('\n'), `== ${c.name}:`)
  })
})
