import { readFile } from 'node:fs/promises'
import t from 'tap'
import { createTestDatabase, testSql } from './helpers/db.ts'

/** Grafana's macros, expanded the way its Postgres datasource does for a 6-hour range. */
function expandMacros(sql: string): string {
  return sql
    .replace(
      /\$__timeGroupAlias\((\w+), '(\d+)m'\)/g,
      'to_timestamp(floor(extract(epoch from $1) / ($2 * 60)) * ($2 * 60)) as time'
    )
    .replace(/\$__timeFilter\((\w+)\)/g, "$1 between now() - interval '6 hours' and now()")
}

t.test('every Grafana panel query runs against the real schema', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  await sql`insert into app.request_telemetry (created_at, request_id, method, route, path, status_code, duration_ms)
            values (now(), 'g1', 'GET', '/workspaces', '/workspaces', 200, 12), (now(), 'g2', 'GET', '/x', '/x', 429, 1)`
  await sql`insert into app.job_telemetry (queue, job_id, event, attempt) values ('simulation', gen_random_uuid(), 'completed', 1)`
  await sql`insert into app.audit_log (action, outcome) values ('auth.lockout', 'denied')`
  const { createBoss } = await import('../src/queue/boss.ts')
  const boss = createBoss(sql, { role: 'cli', onError: () => {} })
  await boss.start()
  await boss.stop({ graceful: false, close: false })

  const dashboard = JSON.parse(
    await readFile(new URL('../ops/grafana/dashboards/sdc-overview.json', import.meta.url), 'utf8')
  )
  const titles = dashboard.panels.map((p: { title: string }) => p.title)
  for (const wanted of [
    'Requests per minute',
    'Error rate',
    'p95 latency by route',
    'Job events by state',
    'Queue backlog',
    'Audit events',
    'Lockouts and rate-limit rejections'
  ]) {
    t.ok(
      titles.some((title: string) => title.startsWith(wanted)),
      `a panel for ${wanted}`
    )
  }
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const rows = await sql.unsafe(expandMacros(target.rawSql))
      t.ok(Array.isArray(rows), `${panel.title} runs`)
      if (panel.title === 'Requests per minute') t.equal(Number(rows[0].requests), 2)
      if (panel.title === 'Lockouts and rate-limit rejections') t.equal(rows.length, 2)
    }
  }
})

t.test('Prometheus alert rules cover the baselines and compose has Grafana on 3002', async (t) => {
  const alerts = await readFile(new URL('../ops/prometheus/alerts.yml', import.meta.url), 'utf8')
  for (const name of ['ApiErrorRateHigh', 'ReadLatencyHigh', 'JobFailureRateHigh']) t.match(alerts, `alert: ${name}`)
  const compose = await readFile(new URL('../compose.yml', import.meta.url), 'utf8')
  t.match(compose, /grafana:[\s\S]*"3002:3000"/)
  t.match(compose, /GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:\?/)
})
