// `npm run demo [-- --url http://127.0.0.1:3000]`: walks a running service through the product.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { SAMPLE_DESIGN } from './domain/samples.ts'

const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://127.0.0.1:3000' } } })
const base = (values.url as string).replace(/\/$/, '')
const say = (text: string) => process.stdout.write(`${text}\n`)

// biome-ignore lint/suspicious/noExplicitAny: a demo reads whatever JSON the API answers
async function call(method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {})
    },
    body: body !== undefined ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`)
  return res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text
}

async function until<T>(what: string, fetchOne: () => Promise<T & { status: string }>): Promise<T> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const value = await fetchOne()
    if (value.status === 'completed') return value
    if (value.status === 'failed') throw new Error(`${what} failed: ${JSON.stringify(value)}`)
    if (Date.now() > deadline) throw new Error(`${what} did not complete within 60 s: is the worker running?`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const email = `demo-${randomBytes(4).toString('hex')}@example.com`
const password = `demo-${randomBytes(12).toString('hex')}`
say(`System Design Coach demo against ${base}`)
await call('GET', '/health/ready')
await call('POST', '/auth/register', { email, password, displayName: 'Demo learner' })
const { accessToken } = await call('POST', '/auth/login', { email, password })
say(`1. registered and logged in as ${email}`)

const workspace = await call(
  'POST',
  '/workspaces',
  {
    name: 'Three-tier web shop',
    description: 'Load balancer, API, cache and a replicated database',
    design: SAMPLE_DESIGN
  },
  accessToken
)
await call(
  'PATCH',
  `/workspaces/${workspace.id}/traffic-profile`,
  { version: 1, peakRps: 900, readRatio: 0.8 },
  accessToken
)
say(`2. created workspace ${workspace.id} (5 components) at 900 rps peak, 80 % reads`)

// Predict, then simulate (issue 38): the guesses are scored against the result, beside the grade.
const predictions = { p95Ms: 60, bottleneck: 'api', maxSustainableRps: 1000 }
const run = await call('POST', `/workspaces/${workspace.id}/simulations`, { seed: 42, predictions }, accessToken)
const sim = await until('the simulation', () => call('GET', `/simulations/${run.id}`, undefined, accessToken))
const o = sim.result.overall
say(
  `3. simulated: p50 ${o.p50} ms, p95 ${o.p95} ms, p99 ${o.p99} ms, ${o.throughputRps} rps, errors ${(o.errorRate * 100).toFixed(2)} %`
)
say(`   bottleneck ${o.bottleneck}; sustainable up to ${o.maxSustainableRps} rps`)
if (sim.predictions) {
  say(`   predictions (${sim.predictions.score} % right):`)
  for (const [what, p] of Object.entries(sim.predictions) as [string, Record<string, unknown>][]) {
    if (what === 'score') continue
    say(`     ${p.correct ? '✓' : '✗'} ${what}: predicted ${p.predicted}, the model ${p.actual ?? 'unbounded'}`)
  }
}
// The working behind a figure: the bottleneck's derivation, recomputed from the run.
const derivation = await call('GET', `/simulations/${run.id}/explain?component=${o.bottleneck}`, undefined, accessToken)
for (const station of derivation.stations ?? []) {
  say(`   how ${station.station} was computed (${station.waitMethod}, p95 ${station.p95Method}):`)
  for (const step of station.steps)
    say(
      `     ${String(step.symbol).padEnd(3)} ${step.label}: ${step.value ?? 'unbounded'}${step.unit ? ` ${step.unit}` : ''}  (${step.formula})`
    )
}
for (const c of sim.result.components) {
  const bar = '█'.repeat(Math.min(40, Math.round(c.utilization * 40)))
  say(`   ${c.id.padEnd(6)} ${(c.utilization * 100).toFixed(1).padStart(5)} % ${bar}`)
}
const a = sim.result.analysis
if (a) {
  const first = a.breaksFirst[0]
  say(
    `   breaks first: ${first ? `${first.component} reaches ${first.utilization * 100} % at ${first.rps} rps` : 'nothing'}; the p95 SLO is missed from ${a.sloBreakRps ?? '—'} rps`
  )
  say('   if an instance is lost:')
  for (const f of a.failures)
    say(
      `     ${f.component.padEnd(6)} ${f.outage ? 'outage' : f.p95 === null ? 'p95 unbounded' : `p95 ${f.p95} ms`}, errors ${(f.errorRate * 100).toFixed(2)} %, SLO ${f.sloHolds ? 'holds' : 'missed'}`
    )
  say(
    `   availability ${(a.availability.fraction * 100).toFixed(3)} % (${a.availability.downtimeMinutesPerMonth} min down a month); cost $${a.cost.perMonth} a month, $${a.cost.perMillionRequests} per million requests`
  )
}

const gradeJob = await call('POST', `/simulations/${run.id}/grade`, {}, accessToken)
const grade = await until('the grade', () => call('GET', `/grades/${gradeJob.id}`, undefined, accessToken))
say(
  `4. graded: ${grade.score}/100${grade.estimation === null ? '' : `, estimation ${grade.estimation} % (beside the total, not in it)`}`
)
for (const item of grade.items) {
  say(`   ${item.passed ? '✓' : '✗'} ${item.title}: ${item.finding}`)
  // What to change is what a learner wants from an item it failed.
  // What to change is what a learner wants from an item it failed: tried by the model before it is shown.
  if (!item.passed) say(`     → ${item.suggestion}${item.patch ? ` [patch: ${JSON.stringify(item.patch)}]` : ''}`)
}

const exportJob = await call('POST', `/workspaces/${workspace.id}/exports`, { format: 'html' }, accessToken)
const exported = await until('the export', () => call('GET', `/exports/${exportJob.id}`, undefined, accessToken))
const html = await call('GET', `/exports/${exportJob.id}/content`, undefined, accessToken)
say(
  `5. exported ${exported.filename} (${html.length} bytes of HTML with SVG charts): GET ${base}/exports/${exportJob.id}/content`
)

// An exercise, as a learner does it: a problem, its checks measured, a hint, then a pass.
const { items: problems } = await call('GET', '/exercises')
const first = problems[0]
const r = first.requirements
say(
  `6. exercise "${first.title}" (${problems.length} in all): ${r.peakRps} rps, p95 ≤ ${r.p95Ms} ms, p99 ≤ ${r.p99Ms} ms, availability ≥ ${r.availabilityTarget}, ≤ $${r.budgetPerMonth} a month, drills: ${r.drills.join(', ')}`
)
const attempt = await call('POST', `/exercises/${first.slug}/attempts`, {}, accessToken)
const service = (instances: number) => ({
  components: [
    { id: 'users', type: 'client' },
    { id: 'app', type: 'service', instances, concurrency: 8, serviceTimeMs: 20 },
    { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  ],
  links: [
    { from: 'users', to: 'app' },
    { from: 'app', to: 'db' }
  ]
})
let version = attempt.version
/** Saves the design, runs it and prints each check: what it requires, what the model measured. */
async function tryDesign(instances: number) {
  version = (await call('PATCH', `/workspaces/${attempt.id}`, { version, design: service(instances) }, accessToken))
    .version
  const queued = await call('POST', `/workspaces/${attempt.id}/simulations`, { seed: 7 }, accessToken)
  const done = await until('the simulation', () => call('GET', `/simulations/${queued.id}`, undefined, accessToken))
  for (const c of done.result.checks)
    say(`   ${c.passed ? '✓' : '✗'} ${c.title}: measured ${c.measured ?? '—'} (${c.detail})`)
}
say('   app with one instance:')
await tryDesign(1)
const hint = await call('POST', `/workspaces/${attempt.id}/hints`, {}, accessToken)
say(`   hint ${hint.level} (−${hint.cost} points): ${hint.text}`)
say('   app with two instances:')
await tryDesign(2)
const submission = await call('POST', `/workspaces/${attempt.id}/submit`, {}, accessToken)
const graded = await until('the grade', () => call('GET', `/grades/${submission.gradeId}`, undefined, accessToken))
say(
  `7. submitted: ${graded.checks.filter((c: { passed: boolean }) => c.passed).length} of ${graded.checks.length} checks pass, ${graded.score}/100 (${graded.hintPoints} points off for hints)`
)
const reference = await call('GET', `/exercises/${first.slug}/reference`, undefined, accessToken)
say(`   the reference: ${reference.explanation}`)
say('done')
