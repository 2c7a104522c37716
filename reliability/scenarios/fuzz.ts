// Schema fuzzing: fast-check properties over every route, generated from the route table and
// its TypeBox schemas. Valid requests, and mutations of them (wrong types, extra keys, huge
// strings, lone surrogates, NUL bytes, deep nesting, huge numbers, malformed JSON), with random
// headers and ids. Properties: never a 5xx; a 4xx is the error shape; a 2xx body matches the
// route's response schema; the app logs nothing at error level. A failure prints its seed;
// FUZZ_SEED (and FUZZ_ROUTE, FUZZ_RUNS) replay it:
// `FUZZ_RUNS=2000 FUZZ_ROUTE='PATCH /workspaces' npm run reliability -- --only fuzz --seed N`.
import { Writable } from 'node:stream'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { Value } from 'typebox/value'
import { JOBS } from '../../jobs/registry.ts'
import type { RouteEntry } from '../../plugins/route-table.ts'
import { hashPassword } from '../../src/accounts/accounts.ts'
import { insertUser } from '../../src/accounts/users.ts'
import { buildApp } from '../../src/app.ts'
import { type Config, loadConfig } from '../../src/config.ts'
import { withContext } from '../../src/db/context.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { DEEP, type Json, mutated, type Schema, valid } from '../../test/helpers/arbitraries.ts'
import { attackDesigns } from '../../test/helpers/pathological.ts'
import { TEST_JWT_SECRET } from '../../test/helpers/process.ts'
import { type Context, expect, type Result, startWorker } from '../../test/helpers/stack.ts'
import { waitFor } from '../../test/helpers/wait.ts'

/** How to run a fuzz pass again with the same inputs. */
export const replayHint = (seed: unknown) =>
  `seed ${seed}: replay with npm run reliability -- --only fuzz --seed ${seed}`

const METRICS_SECRET = 'fuzz-metrics-secret-0123456789abcdef'
const PASSWORD = 'fuzzing password 123'

interface Ids {
  [param: string]: string[]
}

interface Generated {
  path: string
  query: Record<string, Json>
  body: Json | undefined
  raw: string | undefined
  headers: Record<string, string>
  auth: 'caller' | 'none' | 'garbage'
}

function requestFor(route: RouteEntry, ids: Ids, examples: Json[]): fc.Arbitrary<Generated> {
  const schema = route.schema ?? {}
  const params = schema.params as Schema | undefined
  const paramNames = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1])
  const paramArb = fc.record(
    Object.fromEntries(
      paramNames.map((name) => [
        name,
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...(ids[name] ?? ids.id)) },
          { weight: 2, arbitrary: valid((params?.properties as Record<string, Schema> | undefined)?.[name]) },
          { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 300 }) },
          { weight: 1, arbitrary: fc.constantFrom('%00', '..%2F..%2Fetc', '%E0%A4%A', 'null', '-1', '9'.repeat(400)) }
        )
      ])
    )
  )
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(route.method)
  const bodySchema = schema.body as Schema | undefined
  // Known-good bodies reach what a schema cannot describe (a design that validates, a real password).
  const base = examples.length > 0 ? fc.oneof(valid(bodySchema), fc.constantFrom(...examples)) : valid(bodySchema)
  const bodyArb: fc.Arbitrary<{ body: Json | undefined; raw: string | undefined }> = hasBody
    ? fc.oneof(
        { weight: 5, arbitrary: base.map((body) => ({ body, raw: undefined })) },
        { weight: 4, arbitrary: mutated(base).map((body) => ({ body, raw: undefined })) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(
              '{',
              '{"a":1e999}',
              '{"__proto__":{"x":1}}',
              '{"constructor":{"prototype":{}}}',
              DEEP,
              '\u0000',
              '[]'
            )
            .map((raw) => ({ body: undefined, raw }))
        }
      )
    : fc.constant({ body: undefined, raw: undefined })
  const queryArb = fc.oneof(
    valid(schema.querystring as Schema | undefined).map((q) =>
      q && typeof q === 'object' ? (q as Record<string, Json>) : {}
    ),
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }),
      fc.oneof(fc.string(), fc.constantFrom('9'.repeat(400), 'a\u0000b', '\uD800')),
      {
        maxKeys: 3
      }
    )
  )
  const headersArb = fc.dictionary(
    fc.constantFrom(
      'x-request-id',
      'x-forwarded-for',
      'idempotency-key',
      'accept',
      'origin',
      'x-custom',
      'if-none-match'
    ),
    fc.string({ maxLength: 80 }).map((v) => v.replace(/[^\x20-\x7e]/g, '')),
    { maxKeys: 3 }
  )
  const authArb = fc.constantFrom<Generated['auth']>('caller', 'caller', 'caller', 'caller', 'none', 'garbage')
  return fc.tuple(paramArb, bodyArb, queryArb, headersArb, authArb).map(([p, b, query, headers, auth]) => {
    let path = route.url
    for (const [name, value] of Object.entries(p)) path = path.replace(`:${name}`, encodeURIComponent(String(value)))
    return { path, query, body: b.body, raw: b.raw, headers, auth }
  })
}

const ErrorShape = (body: Record<string, unknown>) =>
  typeof body.statusCode === 'number' &&
  typeof body.code === 'string' &&
  typeof body.error === 'string' &&
  typeof body.message === 'string' &&
  typeof body.requestId === 'string'

interface Caller {
  email: string
  accessToken: string
  refreshToken: string
  id: string
}

async function login(app: FastifyInstance, email: string): Promise<Caller> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`fuzz login failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  return { email, accessToken: body.accessToken, refreshToken: body.refreshToken, id: body.user.id }
}

/** A fresh user (and admin) per route: a route that logs its caller out cannot starve the next. */
async function callers(app: FastifyInstance, n: number): Promise<{ user: Caller; admin: Caller }> {
  const email = `fuzz-${n}-${Date.now()}@example.com`
  const reg = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password: PASSWORD, displayName: 'Fuzz' }
  })
  if (reg.statusCode !== 201) throw new Error(`fuzz register failed: ${reg.statusCode} ${reg.body}`)
  const adminEmail = `fuzz-admin-${n}-${Date.now()}@example.com`
  await insertUser(app.sql, { email: adminEmail, passwordHash: await hashPassword(PASSWORD), role: 'admin' })
  return { user: await login(app, email), admin: await login(app, adminEmail) }
}

/** Bodies a request generator would rarely hit by chance, per route. */
function examplesFor(key: string, user: Caller): Json[] {
  const examples: Record<string, Json[]> = {
    'POST /auth/login': [{ email: user.email, password: PASSWORD }],
    'POST /auth/refresh': [{ refreshToken: user.refreshToken }],
    'POST /auth/logout': [{ refreshToken: user.refreshToken }],
    'POST /auth/password': [{ currentPassword: PASSWORD, newPassword: `${PASSWORD} changed` }],
    'POST /workspaces': [{ name: 'Fuzz example', design: SAMPLE_DESIGN }],
    'PATCH /workspaces/:id': [
      { version: 1, name: 'Renamed' },
      { version: 2, design: SAMPLE_DESIGN }
    ],
    'POST /workspaces/:id/preview': [
      {},
      { design: SAMPLE_DESIGN },
      { design: SAMPLE_DESIGN, trafficProfile: { peakRps: 300, readRatio: 0.5, payloadKb: 8, latencySloMs: 200 } }
    ],
    'PATCH /workspaces/:id/traffic-profile': [
      { version: 1, peakRps: 100 },
      { version: 2, readRatio: 0.5 }
    ]
  }
  return examples[key] ?? []
}

/** The worker's engine threads in this scenario (what a run's deadline is scaled by when runs queue). */
const ENGINE_THREADS = 2

/** Routes whose 2xx needs finished work: their resources are completed by the worker first. */
const NEEDS_FINISHED_WORK = /\/grade|\/grades\/|\/exports\/:id/

async function resourcesOf(app: FastifyInstance, caller: Caller, finished: boolean): Promise<Ids> {
  const headers = { authorization: `Bearer ${caller.accessToken}` }
  const post = async (url: string, payload: object) =>
    (await app.inject({ method: 'POST', url, headers, payload })).json() as { id: string }
  const workspace = await post('/workspaces', { name: 'Fuzz', design: SAMPLE_DESIGN })
  const run = await post(`/workspaces/${workspace.id}/simulations`, { seed: 1 })
  const exported = await post(`/workspaces/${workspace.id}/exports`, { format: 'json' })
  const ids = [workspace.id, run.id, exported.id, caller.id]
  if (finished) {
    // The real worker process finishes them (a grade needs a completed run).
    const done = (table: string, id: string) =>
      waitFor(
        async () =>
          (
            await withContext(
              app.sql,
              { userId: caller.id },
              (tx) => tx`select status from ${tx(`app.${table}`)} where id = ${id}`
            )
          )[0]?.status === 'completed',
        { timeoutMs: 30_000, what: `${table} ${id} completed` }
      )
    await Promise.all([done('simulation_runs', run.id), done('report_exports', exported.id)])
    const grade = await post(`/simulations/${run.id}/grade`, {})
    await done('grade_reports', grade.id)
    ids.push(grade.id)
  }
  return { id: ids, queue: ['simulation', 'grading', 'export', 'email', 'maintenance', 'nope'] }
}

/**
 * The designs an attacker tries first (fan-out bombs, timeout bombs, slow cycles, deep chains),
 * the known ones and fast-check's variations of them, six at a time while readiness is probed:
 * each is refused with a 422 or accepted, previewing it as a draft answers 200, 422 or 503 (every
 * preview thread busy), readiness stays 200 throughout, and every accepted design's run ends
 * (completed or failed) within its deadline.
 */
async function sendAttackDesigns(
  app: FastifyInstance,
  user: Caller,
  seed: number,
  violations: string[],
  config: Config
): Promise<Record<string, number>> {
  const headers = { authorization: `Bearer ${user.accessToken}` }
  const designs = attackDesigns(seed, 24)
  const figures = {
    designs: designs.length,
    refused: 0,
    accepted: 0,
    previewed: 0,
    previewsRefused: 0,
    runsEnded: 0,
    readinessProbes: 0
  }
  const accepted: string[] = []
  const drafts = await app.inject({
    method: 'POST',
    url: '/workspaces',
    headers,
    payload: { name: 'attack drafts', design: SAMPLE_DESIGN }
  })
  const draftUrl = `/workspaces/${drafts.json().id}/preview`
  for (let i = 0; i < designs.length; i += 6) {
    let posting = true
    const probes = (async () => {
      while (posting) {
        const ready = await app.inject({ url: '/health/ready' })
        figures.readinessProbes++
        if (ready.statusCode !== 200) violations.push(`readiness answered ${ready.statusCode} during attack designs`)
      }
    })()
    const batch = designs.slice(i, i + 6)
    const [answers, previews] = await Promise.all([
      Promise.all(
        batch.map((design, k) =>
          app.inject({ method: 'POST', url: '/workspaces', headers, payload: { name: `attack ${i + k}`, design } })
        )
      ),
      Promise.all(batch.map((design) => app.inject({ method: 'POST', url: draftUrl, headers, payload: { design } })))
    ])
    posting = false
    await probes
    for (const res of previews) {
      if (res.statusCode === 200) figures.previewed++
      else if (res.statusCode === 422 || (res.statusCode === 503 && res.headers['retry-after']))
        figures.previewsRefused++
      else violations.push(`an attack design's preview answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    }
    for (const res of answers) {
      if (res.statusCode === 201) {
        figures.accepted++
        accepted.push(res.json().id)
      } else if (res.statusCode === 422) figures.refused++
      else violations.push(`an attack design answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
    }
  }
  // Each accepted design runs; the quota allows a few at once, so they go in small groups. A run's
  // deadline counts from when an engine thread starts it: with more runs than threads, a run
  // claimed with its group waits for those ahead of it, each within its own deadline.
  for (let i = 0; i < accepted.length; i += config.quotas.activeRuns) {
    const group = Math.min(config.quotas.activeRuns, accepted.length - i)
    const deadline = config.simulationTimeoutMs * Math.ceil(group / ENGINE_THREADS) + 1000
    const runs = await Promise.all(
      accepted.slice(i, i + config.quotas.activeRuns).map(async (id) => {
        const res = await app.inject({ method: 'POST', url: `/workspaces/${id}/simulations`, headers, payload: {} })
        return res.json().id as string
      })
    )
    for (const id of runs) {
      const ended = await waitFor(
        async () => {
          const res = await app.inject({ url: `/simulations/${id}`, headers })
          const body = res.json()
          return body.status === 'completed' || body.status === 'failed' ? body : null
        },
        { timeoutMs: config.simulationTimeoutMs * 3 + 10_000, what: `attack run ${id} to end` }
      )
      const took = new Date(ended.completedAt).getTime() - new Date(ended.startedAt).getTime()
      if (!(took <= deadline))
        violations.push(
          `an attack design's run took ${took} ms, past its ${config.simulationTimeoutMs} ms deadline (${group} runs on ${ENGINE_THREADS} threads)`
        )
      figures.runsEnded++
    }
  }
  return figures
}

export async function fuzz(ctx: Context): Promise<Result> {
  const runs = Number(process.env.FUZZ_RUNS ?? (ctx.mode === 'long' ? 1000 : 200))
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
  const url = await ctx.createDatabase()
  const { config } = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'error',
    RATE_LIMIT_MAX_REQUESTS: '100000000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '100000000',
    AUTH_LOGIN_MAX_ATTEMPTS: '1000',
    // Every generated sign-up comes from 127.0.0.1; the daily cap is tested on its own.
    QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '1000000',
    METRICS_ENABLED: 'true',
    METRICS_GUARD: 'secret',
    METRICS_GUARD_SECRET: METRICS_SECRET
  })
  // What the app logs at error level is a failure too, even when the response was fine: an audit
  // row written after the response that failed (a scalar body) went unnoticed while logs were off.
  const loggedErrors = new Map<string, number>()
  let firstErrorLine: string | undefined
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue
        const entry = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } }
        if (entry.level < 50) continue
        const what = `${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ''}`
        loggedErrors.set(what, (loggedErrors.get(what) ?? 0) + 1)
        firstErrorLine ??= line
      }
      done()
    }
  })
  const app = await buildApp(config, { databaseUrl: url, logStream, queues: JOBS })
  await app.ready()
  const worker = await startWorker({ DATABASE_URL: url, WORKER_ENGINE_THREADS: String(ENGINE_THREADS) }, [
    '--queues',
    'simulation,grading,export'
  ])
  const violations: string[] = []
  let result: Result
  const perRoute: Record<string, { runs: number; statuses: Record<number, number> }> = {}
  try {
    // FUZZ_ROUTE='PATCH /workspaces/:id' narrows a replay to the routes whose key contains it.
    const only = process.env.FUZZ_ROUTE
    const routes = app.routeTable.filter(
      (r) => r.method !== 'OPTIONS' && !r.url.startsWith('/docs') && (!only || `${r.method} ${r.url}`.includes(only))
    )
    let n = 0
    for (const route of routes) {
      const key = `${route.method} ${route.url}`
      const { user, admin } = await callers(app, n++)
      const ids = await resourcesOf(app, user, NEEDS_FINISHED_WORK.test(route.url))
      const statuses: Record<number, number> = {}
      const property = fc.asyncProperty(requestFor(route, ids, examplesFor(key, user)), async (req) => {
        const token = route.auth === 'admin' ? admin.accessToken : user.accessToken
        const headers: Record<string, string> = { ...req.headers }
        if (req.auth === 'caller' && route.auth !== 'public') headers.authorization = `Bearer ${token}`
        if (req.auth === 'garbage') headers.authorization = 'Bearer not.a.jwt'
        if (route.url === '/metrics') headers['x-metrics-secret'] = METRICS_SECRET
        const payload = req.raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body))
        if (payload !== undefined) headers['content-type'] = 'application/json'
        const res = await app.inject({
          method: route.method as 'GET',
          url: req.path,
          query: Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)])),
          headers,
          payload
        })
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
        if (res.statusCode >= 500) throw new Error(`${res.statusCode}: ${res.body.slice(0, 300)}`)
        const json = (res.headers['content-type'] ?? '').toString().includes('json') ? res.json() : null
        if (res.statusCode >= 400 && !(json && ErrorShape(json))) {
          throw new Error(`${res.statusCode} not in the error shape: ${res.body.slice(0, 300)}`)
        }
        const declared = (route.schema?.response as Record<string, Schema> | undefined)?.[res.statusCode]
        // A response may declare one schema per content type (the export's content does).
        const byType = declared?.content as Record<string, { schema: Schema }> | undefined
        const type = String(res.headers['content-type'] ?? '').split(';')[0]
        const responseSchema = byType ? byType[type]?.schema : declared
        if (res.statusCode < 300 && responseSchema && json !== null && !Value.Check(responseSchema as never, json)) {
          const [first] = Value.Errors(responseSchema as never, json)
          throw new Error(`${res.statusCode} body does not match its schema: ${JSON.stringify(first)}`)
        }
      })
      const outcome = await fc.check(property, { numRuns: runs, seed, endOnFailure: true })
      perRoute[key] = { runs: outcome.numRuns, statuses }
      if (outcome.failed) {
        const message = `${key}: ${String(outcome.errorInstance)} — replay with FUZZ_SEED=${outcome.seed} (path ${outcome.counterexamplePath}); input ${JSON.stringify(outcome.counterexample).slice(0, 400)}`
        violations.push(message)
        ctx.log(`  ✘ ${message}`)
      }
    }
    const pathological = await sendAttackDesigns(app, (await callers(app, n++)).user, seed, violations, config)
    const totalRuns = Object.values(perRoute).reduce((s, r) => s + r.runs, 0)
    if (!only) expect(violations, routes.length >= 30, `only ${routes.length} routes were fuzzed`)
    const statusTotals: Record<string, number> = {}
    for (const r of Object.values(perRoute))
      for (const [s, c] of Object.entries(r.statuses)) statusTotals[s] = (statusTotals[s] ?? 0) + c
    const without2xx = Object.entries(perRoute)
      .filter(([, r]) => !Object.keys(r.statuses).some((s) => Number(s) < 300))
      .map(([key]) => key)
    result = {
      figures: {
        seed,
        runsPerRoute: runs,
        routes: routes.length,
        fuzzRuns: totalRuns,
        routesWith2xx: routes.length - without2xx.length,
        // Their valid input needs state the generator cannot make (a verification token, a failed job).
        routesWithout2xx: without2xx,
        statuses: statusTotals,
        pathological
      },
      violations
    }
  } catch (err) {
    // A crash (a set-up request that failed) says what the app logged, stack included.
    ctx.log(`  ${replayHint(seed)}`)
    if (firstErrorLine) ctx.log(`  the app's first error line: ${firstErrorLine}`)
    throw err
  } finally {
    worker.child.kill('SIGKILL')
    // Closing waits for the writes still in flight after their responses, so their errors count.
    await app.close()
  }
  for (const [what, count] of loggedErrors) violations.push(`the app logged an error ${count} time(s): ${what}`)
  return result
}
