import t from 'tap'
import { RUBRIC_VERSION } from '../../src/domain/grading.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { fork } from '../helpers/process.ts'
import { runSqlFile } from '../helpers/sql-files.ts'
import { bearer, registerAndLogin } from '../helpers/users.ts'

const ENV = {
  RATE_LIMIT_MAX_REQUESTS: '100000',
  AUTH_RATE_LIMIT_MAX_REQUESTS: '100000',
  QUOTA_ACTIVE_RUNS: '1000'
}

/** A long chain: slow enough (hundreds of ms per run) to kill a worker in the middle of a batch. */
function chain(n: number) {
  return {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      ...Array.from({ length: n }, (_, i) => ({
        id: `s${i}`,
        type: 'service',
        instances: 2,
        concurrency: 10,
        serviceTimeMs: 5
      }))
    ],
    links: [
      { from: 'users', to: 's0', share: 1 },
      ...Array.from({ length: n - 1 }, (_, i) => ({ from: `s${i}`, to: `s${i + 1}`, share: 1 }))
    ]
  }
}

t.test('the product end to end through the real worker process', async (t) => {
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role needs a user's context).
  const sql = testSql(t, superuserUrl(url))
  const { app } = await buildTestApp(t, url, ENV)
  const workerEnv = { DATABASE_URL: url, WORKER_SUPERVISE_INTERVAL_SECONDS: '1', SHUTDOWN_TIMEOUT_MS: '10000' }
  let worker = fork('jobs/worker.ts', workerEnv)
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)
  const user = await registerAndLogin(app)
  const auth = bearer(user)
  const ws = (
    await app.inject({
      method: 'POST',
      url: '/workspaces',
      headers: auth,
      payload: { name: 'Flow', design: SAMPLE_DESIGN }
    })
  ).json()

  t.test('simulation: queued → running → completed, with telemetry, audit and one request id', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/simulations`,
      headers: { ...auth, 'x-request-id': 'flow-sim-1' },
      payload: { seed: 7 }
    })
    t.equal(res.statusCode, 202)
    t.match(res.json(), { id: String, status: 'queued' })
    const id = res.json().id
    t.equal(res.headers.location, `/simulations/${id}`, 'the 202 says where the run is read')
    const done = await waitFor(
      async () => {
        const r = await app.inject({ url: `/simulations/${id}`, headers: auth })
        return r.json().status === 'completed' ? r.json() : null
      },
      { timeoutMs: 20_000, what: 'the simulation to complete' }
    )
    t.match(done, {
      seed: 7,
      result: { overall: { bottleneck: String, errorRate: 0 } },
      startedAt: String,
      completedAt: String
    })
    const events = await sql`select event, request_id from app.job_telemetry where job_id = ${id} order by created_at`
    t.same(
      events.map((e) => e.event),
      ['queued', 'running', 'completed']
    )
    t.ok(events.every((e) => e.request_id === 'flow-sim-1'))
    const [audit] = await sql`select action, resource_id, user_id from app.audit_log where request_id = 'flow-sim-1'`
    t.match(audit, { action: 'simulation.create', resource_id: id, user_id: user.id })
    await app.telemetry.flush()
    const story = await runSqlFile(sql, 'sql/queries/correlate_request.sql', { id: 'flow-sim-1' })
    t.same([...new Set(story.map((r) => r.source))].sort(), ['audit', 'job', 'request'])
    const list = await app.inject({ url: `/workspaces/${ws.id}/simulations`, headers: auth })
    const [listed] = list.json().items
    t.equal(listed.id, id)
    t.same(listed.overall, done.result.overall, 'a listed run carries its overall figures')
    t.notOk('result' in listed, 'but not its figures per component')
    const same = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/simulations`,
      headers: auth,
      payload: { seed: 7 }
    })
    const again = await waitFor(async () => {
      const r = await app.inject({ url: `/simulations/${same.json().id}`, headers: auth })
      return r.json().status === 'completed' ? r.json() : null
    })
    t.same(again.result, done.result, 'same design, profile and seed → the same result')
  })

  t.test('grading and exports in every format', async (t) => {
    const sim = (
      await app.inject({ method: 'POST', url: `/workspaces/${ws.id}/simulations`, headers: auth, payload: { seed: 3 } })
    ).json()
    const early = await app.inject({ method: 'POST', url: `/simulations/${sim.id}/grade`, headers: auth, payload: {} })
    t.ok([202, 409].includes(early.statusCode), 'grading a run that is not complete is refused or queued after it')
    await waitFor(
      async () => (await app.inject({ url: `/simulations/${sim.id}`, headers: auth })).json().status === 'completed'
    )
    // No body at all (`curl -X POST`) is the empty object; a body that is not an object is refused.
    const graded = await app.inject({ method: 'POST', url: `/simulations/${sim.id}/grade`, headers: auth })
    t.equal(graded.statusCode, 202, graded.body)
    t.equal(graded.headers.location, `/grades/${graded.json().id}`)
    const notObject = await app.inject({
      method: 'POST',
      url: `/simulations/${sim.id}/grade`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '[]'
    })
    t.equal(notObject.statusCode, 400)
    const grade = await waitFor(async () => {
      const r = (await app.inject({ url: `/grades/${graded.json().id}`, headers: auth })).json()
      return r.status === 'completed' ? r : null
    })
    t.equal(grade.score, 100)
    t.equal(grade.items.length, 7)
    t.equal(grade.rubricVersion, RUBRIC_VERSION, 'the grade names the rubric that scored it')
    t.same(
      grade.items.find((i: { id: string }) => i.id === 'database_redundancy').components,
      ['db'],
      'an item names the components it is about'
    )
    const runs = (await app.inject({ url: `/workspaces/${ws.id}/simulations?limit=50`, headers: auth })).json()
    t.same(
      runs.items.find((r: { id: string }) => r.id === sim.id).latestGrade,
      { id: graded.json().id, score: 100 },
      'the run list carries each run’s newest grade'
    )

    const expected: Record<string, [RegExp, RegExp]> = {
      markdown: [/^text\/markdown/, /## Grade: 100\/100/],
      json: [/^application\/json/, /"score": 100/],
      html: [/^text\/html/, /<svg [^>]*aria-label="Utilisation per component"/]
    }
    for (const [format, [type, body]] of Object.entries(expected)) {
      const created = await app.inject({
        method: 'POST',
        url: `/workspaces/${ws.id}/exports`,
        headers: auth,
        payload: { format }
      })
      t.equal(created.statusCode, 202)
      const id = created.json().id
      t.equal(created.headers.location, `/exports/${id}`)
      const status = await waitFor(async () => {
        const r = (await app.inject({ url: created.headers.location as string, headers: auth })).json()
        return r.status === 'completed' ? r : null
      })
      t.match(status.filename, /^Flow-report\.(md|json|html)$/)
      const content = await app.inject({ url: `/exports/${id}/content`, headers: auth })
      t.equal(content.statusCode, 200)
      t.match(content.headers['content-type'], type, `${format} content type`)
      t.equal(content.headers['content-disposition'], `attachment; filename="${status.filename}"`)
      t.match(content.body, body, `${format} content`)

      // A signed link opens it without the Authorization header, for a minute, for this export only.
      const link = await app.inject({ method: 'POST', url: `/exports/${id}/link`, headers: auth, payload: {} })
      t.equal(link.statusCode, 200)
      t.match(link.json().url, new RegExp(`^/exports/${id}/download\\?ticket=[\\w.-]+$`))
      const opened = await app.inject({ url: `${link.json().url}&disposition=inline` })
      t.equal(opened.statusCode, 200, `${format} opens through its link`)
      t.equal(opened.body, content.body)
      t.equal(opened.headers['content-disposition'], `inline; filename="${status.filename}"`)
      t.equal(opened.headers['cache-control'], 'no-store')
      if (format === 'html')
        t.match(opened.headers['content-security-policy'], /^default-src 'none'; style-src 'unsafe-inline'/)
      const ticket = new URL(link.json().url, 'http://x').searchParams.get('ticket') as string
      const forged = `${ticket.slice(0, -2)}${ticket.endsWith('AA') ? 'BB' : 'AA'}`
      t.equal(
        (await app.inject({ url: `/exports/${id}/download?ticket=${forged}` })).statusCode,
        401,
        'a forged ticket'
      )
      const otherId = '00000000-0000-7000-8000-000000000000'
      t.equal(
        (await app.inject({ url: `/exports/${otherId}/download?ticket=${ticket}` })).statusCode,
        401,
        'another export'
      )
      t.equal((await app.inject({ url: `/exports/${id}/download` })).statusCode, 400, 'no ticket')
    }
    const bad = await app.inject({
      method: 'POST',
      url: `/workspaces/${ws.id}/exports`,
      headers: auth,
      payload: { format: 'pdf' }
    })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().message, 'body/format must be one of: markdown, json, html', 'the refusal names the choices')
    const bare = await app.inject({ method: 'POST', url: `/workspaces/${ws.id}/simulations`, headers: auth })
    t.equal(bare.statusCode, 202, 'a simulation with no body gets a random seed')
  })

  t.test('a poison payload fails at once to the dead-letter queue', async (t) => {
    const id = (await app.boss.send('simulation', { runId: 'not-a-uuid', ownerId: crypto.randomUUID() })) as string
    await waitFor(async () => (await sql`select 1 from pgboss.job where name = 'simulation_dead'`).length > 0, {
      timeoutMs: 15_000,
      what: 'the dead letter'
    })
    const events =
      await sql`select event, error_message from app.job_telemetry where job_id = ${id} order by created_at`
    t.same(
      events.map((e) => e.event),
      ['running', 'failed']
    )
    t.match(events[1].error_message, /payload.runId must be a uuid/)
  })

  t.test('a worker killed mid-batch and restarted completes every run exactly once', async (t) => {
    const long = (
      await app.inject({
        method: 'POST',
        url: '/workspaces',
        headers: auth,
        payload: { name: 'Long', design: chain(450) }
      })
    ).json()
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      ids.push(
        (
          await app.inject({
            method: 'POST',
            url: `/workspaces/${long.id}/simulations`,
            headers: auth,
            payload: { seed: i }
          })
        ).json().id
      )
    }
    // Kill it while a run is being computed, once at least one has finished.
    const [victim] = await waitFor(
      async () => {
        const [done] =
          await sql`select count(*)::int as n from app.simulation_runs where id = any(${`{${ids}}`}::uuid[]) and status = 'completed'`
        if (done.n < 1) return null
        const running =
          await sql`select id from app.simulation_runs where id = any(${`{${ids}}`}::uuid[]) and status = 'running'`
        return running.length ? running : null
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'a run in progress after the first one finished' }
    )
    worker.child.kill('SIGKILL')
    await worker.exited
    const before =
      await sql`select id, completed_at from app.simulation_runs where id = any(${`{${ids}}`}::uuid[]) and status = 'completed'`
    t.ok(before.length < ids.length, `killed with ${before.length} of ${ids.length} done`)

    worker = fork('jobs/worker.ts', workerEnv)
    await worker.waitForLog(/worker ready/)
    await waitFor(
      async () =>
        (await sql`select 1 from app.simulation_runs where id = any(${`{${ids}}`}::uuid[]) and status = 'completed'`)
          .length === ids.length,
      {
        timeoutMs: 60_000,
        what: 'every run to complete after the restart'
      }
    ).catch(async (e) => {
      console.error(
        await sql`select id, state, retry_count, heartbeat_on, output from pgboss.job where id = any(${`{${ids}}`}::uuid[])`
      )
      console.error(
        await sql`select id, status, attempts, error from app.simulation_runs where id = any(${`{${ids}}`}::uuid[])`
      )
      console.error(worker.stdout.slice(-20).join('\n'))
      throw e
    })
    const after =
      await sql`select id, completed_at, attempts from app.simulation_runs where id = any(${`{${ids}}`}::uuid[])`
    for (const row of before) {
      const now = after.find((r) => r.id === row.id)
      t.equal(now?.completed_at.getTime(), row.completed_at.getTime(), `run ${row.id} was not written twice`)
    }
    // A batch settles its jobs (and writes their telemetry) after its last run: wait for that too.
    await waitFor(
      async () =>
        (await sql`select 1 from pgboss.job where id = any(${`{${ids}}`}::uuid[]) and state = 'completed'`).length ===
        ids.length,
      { timeoutMs: 30_000, what: 'every job to be settled' }
    )
    // The run killed mid-computation came back as a retry of its job and completed.
    const [job] = await sql`select retry_count, state::text from pgboss.job where id = ${victim.id}`
    t.match(job, { state: 'completed' })
    t.ok(job.retry_count >= 1, 'the interrupted job was picked up again')
    const completions = await sql`
      select job_id, count(*)::int as n from app.job_telemetry
      where job_id = any(${`{${ids}}`}::uuid[]) and event = 'completed' group by job_id
    `
    t.equal(completions.length, ids.length)
    t.ok(
      completions.every((c) => c.n === 1),
      'each job completed once'
    )
  })
})
