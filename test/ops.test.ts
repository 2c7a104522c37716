import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { LoginRoles, urlAs } from '../src/db/roles.ts'
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

t.test('every Grafana panel query runs against the real schema, as Grafana’s read-only role', async (t) => {
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
  const grafana = testSql(t, urlAs(url, LoginRoles.readonly))

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
      const rows = await grafana.unsafe(expandMacros(target.rawSql))
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

interface ComposeService {
  environment?: Record<string, string>
  volumes?: string[]
  healthcheck?: { test: string[] }
}

/** The role a connection URL logs in as. */
const userOf = (url: string) => decodeURIComponent(new URL(url.replace(/\$\{[^}]*\}/g, 'x')).username)

t.test('compose: no service logs in as the superuser; the api and the worker as the app’s role', async (t) => {
  const text = await readFile(new URL('../compose.yml', import.meta.url), 'utf8')
  const { services } = parse(text, { merge: true }) as { services: Record<string, ComposeService> }
  const superuser = services.postgres.environment?.POSTGRES_USER as string
  t.ok(superuser, 'the image’s superuser is named')
  const logins: Record<string, string[]> = {}
  for (const [name, service] of Object.entries(services)) {
    const found: string[] = []
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (/^postgres(ql)?:\/\//.test(String(value))) found.push(`${key}=${userOf(String(value))}`)
      if (key === 'SDC_GRAFANA_DB_USER') found.push(`${key}=${value}`)
    }
    if (found.length > 0) logins[name] = found
  }
  t.same(logins, {
    migrate: [`DATABASE_URL=${LoginRoles.app}`, `DATABASE_OWNER_URL=${LoginRoles.owner}`],
    api: [`DATABASE_URL=${LoginRoles.app}`],
    worker: [`DATABASE_URL=${LoginRoles.app}`],
    grafana: [`SDC_GRAFANA_DB_USER=${LoginRoles.readonly}`]
  })
  t.notOk(
    Object.values(logins)
      .flat()
      .some((login) => login.endsWith(`=${superuser}`)),
    'none as the superuser'
  )
  t.notMatch(
    services.postgres.healthcheck?.test.join(' '),
    new RegExp(`-U ${superuser}\\b`),
    'the health check neither'
  )

  // The roles come from the same recipe the tests apply, with a password each.
  t.ok(services.postgres.volumes?.includes('./sql/roles.sql:/sdc/roles.sql:ro'))
  const init = services.postgres.volumes?.find((v) => v.includes('/docker-entrypoint-initdb.d/'))?.split(':')[0]
  t.ok(init, 'an init script makes the roles')
  const script = await readFile(new URL(`../${init}`, import.meta.url), 'utf8')
  t.match(script, /--file \/sdc\/roles\.sql/)
  for (const role of Object.values(LoginRoles)) t.match(script, new RegExp(`alter role ${role} password`), role)
  t.match(script, /alter database .* owner to sdc_owner/)
  for (const variable of ['SDC_OWNER_PASSWORD', 'SDC_APP_PASSWORD', 'SDC_GRAFANA_PASSWORD', 'SDC_BACKUP_PASSWORD'])
    t.match(services.postgres.environment?.[variable], new RegExp(`^\\$\\{${variable}:\\?`), `${variable} is required`)
})
