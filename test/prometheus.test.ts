import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { alertNames, alertsWithoutBothCases } from '../ops/readiness/render.ts'
import { createTestDatabase, waitFor } from './helpers/db.ts'
import { freePort, startApi } from './helpers/stack.ts'

// A real Prometheus (Debian's package; .ci/run installs it): the shipped config and alert rules
// check, every alert has a firing and a silent unit test, and Prometheus scrapes a running api
// through each metrics guard. The metric names the rules use are ones /metrics exposes.

const OPS = fileURLToPath(new URL('../ops/prometheus/', import.meta.url))
const run = promisify(execFile)
const SECRET = 'prometheus-test-secret-0123456789'

/** A running api with /metrics on behind `guard`; killed at teardown. */
async function metricsApi(t: Test, url: string, guard: Record<string, string>) {
  const api = await startApi({ DATABASE_URL: url, METRICS_ENABLED: 'true', ...guard })
  t.teardown(() => {
    api.child.kill('SIGKILL')
  })
  return api
}

/** The shipped config with its /etc/prometheus paths moved into `dir`, and its target replaced. */
async function configIn(dir: string, target?: string, scrapeInterval?: string): Promise<string> {
  let text = (await readFile(join(OPS, 'prometheus.yml'), 'utf8')).replaceAll('/etc/prometheus/', `${dir}/`)
  if (target) text = text.replace("targets: ['api:3000']", `targets: ['${target}']`)
  if (scrapeInterval) text = text.replace('scrape_interval: 15s', `scrape_interval: ${scrapeInterval}`)
  await writeFile(join(dir, 'alerts.yml'), await readFile(join(OPS, 'alerts.yml')))
  await writeFile(join(dir, 'metrics-secret'), SECRET)
  const path = join(dir, 'prometheus.yml')
  await writeFile(path, text)
  return path
}

t.test('promtool checks the config and the rules, and every alert passes its unit tests', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-prom-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const config = await run('promtool', ['check', 'config', await configIn(dir)])
  t.match(config.stdout, /SUCCESS/, 'promtool check config')
  const rules = await run('promtool', ['check', 'rules', join(OPS, 'alerts.yml')])
  t.match(rules.stdout, /SUCCESS: \d+ rules found/)
  const tests = await run('promtool', ['test', 'rules', join(OPS, 'alerts.test.yml')])
  t.match(tests.stdout, /SUCCESS/, 'promtool test rules')
  // Every alert in the rules has a test that fires it and one that stays silent.
  const rulesText = await readFile(join(OPS, 'alerts.yml'), 'utf8')
  t.ok(alertNames(rulesText).length >= 7, 'the rules hold the alerts')
  t.same(
    alertsWithoutBothCases(rulesText, await readFile(join(OPS, 'alerts.test.yml'), 'utf8')),
    [],
    'each with a firing and a silent test'
  )
})

for (const guard of ['secret', 'cidr'] as const) {
  t.test(`a real Prometheus scrapes the api through the ${guard} guard`, async (t) => {
    const { url } = await createTestDatabase(t)
    const dir = await mkdtemp(join(tmpdir(), 'sdc-prom-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const { port } = await metricsApi(t, url, {
      METRICS_GUARD: guard,
      ...(guard === 'secret' ? { METRICS_GUARD_SECRET: SECRET } : { METRICS_GUARD_ALLOWLIST: '127.0.0.1/32' })
    })
    await fetch(`http://127.0.0.1:${port}/health/live`)
    const promPort = await freePort()
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${await configIn(dir, `127.0.0.1:${port}`, '1s')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`
      ],
      { stdio: 'ignore' }
    )
    t.teardown(() => {
      prometheus.kill('SIGKILL')
    })
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`)
      const body = (await res.json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] }
      }
      return body.data.result
    }
    const up = await waitFor(
      async () => {
        const result = await query('up{job="sdc-api"}').catch(() => [])
        return result[0]?.value[1] === '1' ? result : null
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'Prometheus to scrape the api' }
    )
    t.equal(up[0].metric.instance, `127.0.0.1:${port}`, 'up == 1 for the api')
    const requests = await waitFor(
      async () => {
        const result = await query('sum(sdc_http_request_duration_seconds_count)')
        return Number(result[0]?.value[1] ?? 0) > 0 ? result : null
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'a request counter through Prometheus' }
    )
    t.ok(Number(requests[0].value[1]) >= 1, 'the request counter, read through Prometheus')
  })
}

t.test('every metric the alert rules use is one /metrics exposes', async (t) => {
  const { url } = await createTestDatabase(t)
  const { port } = await metricsApi(t, url, { METRICS_GUARD: 'secret', METRICS_GUARD_SECRET: SECRET })
  const exposition = await (
    await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } })
  ).text()
  const exposed = new Set(
    [...exposition.matchAll(/^# TYPE (\w+) (\w+)$/gm)].flatMap((m) =>
      m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_count`, `${m[1]}_sum`] : [m[1]]
    )
  )
  const used = new Set([...(await readFile(join(OPS, 'alerts.yml'), 'utf8')).matchAll(/\b(sdc_\w+)/g)].map((m) => m[1]))
  t.ok(used.size >= 5, `the rules use ${used.size} metrics`)
  for (const name of used) t.ok(exposed.has(name), `${name} is exposed`)
})
