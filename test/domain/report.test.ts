import t from 'tap'
import { simulateAndAnalyze } from '../../src/domain/analysis.ts'
import { simulate } from '../../src/domain/engine.ts'
import { availabilityPct, rps } from '../../src/domain/format.ts'
import { grade } from '../../src/domain/grading.ts'
import type { Design, TrafficProfile } from '../../src/domain/model.ts'
import { renderReport, reportFilename } from '../../src/domain/report.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { reportInput } from '../helpers/reports.ts'

const traffic: TrafficProfile = { peakRps: 600, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

t.test('grading: a sound design scores full marks, each item explained', async (t) => {
  const result = simulate(SAMPLE_DESIGN, traffic, { seed: 1 })
  const g = grade(SAMPLE_DESIGN, traffic, result)
  t.equal(g.items.length, 7)
  t.equal(g.score, 100, JSON.stringify(g.items.filter((i) => !i.passed)))
  t.equal(
    g.items.reduce((sum, i) => sum + i.maxPoints, 0),
    100,
    'the weights add up to 100'
  )
  for (const item of g.items) {
    t.ok(item.finding.length > 10 && item.suggestion.length > 10, `${item.id} explains itself`)
  }
  t.match(
    g.items.find((i) => i.id === 'cache_for_reads')?.finding,
    /cache answers 80% of them \(full marks from 50%\)\.$/
  )
})

t.test('grading: a weak design loses the points it deserves to lose', async (t) => {
  const weak: Design = {
    components: [
      { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
      { id: 'api', type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 20 },
      { id: 'db', type: 'database', instances: 1, concurrency: 4, serviceTimeMs: 10 }
    ],
    links: [
      { from: 'users', to: 'api', share: 1 },
      { from: 'api', to: 'db', share: 1 }
    ]
  }
  const g = grade(weak, traffic, simulate(weak, traffic, { seed: 1 }))
  const failed = g.items.filter((i) => !i.passed).map((i) => i.id)
  t.same(failed.sort(), [
    'availability',
    'cache_for_reads',
    'capacity_headroom',
    'database_redundancy',
    'latency_slo',
    'survives_instance_loss',
    'zero_errors'
  ])
  // Only availability earns partial credit: 99.85 % is 2.82 of the 3 nines it is held to.
  t.equal(g.score, 9)
  t.equal(g.items.find((i) => i.id === 'availability')?.points, 9)
  // The profile may hold it to another target: two nines it meets, four it meets 2.82 / 4 of.
  const held = (availabilityTarget: number) =>
    grade(weak, { ...traffic, availabilityTarget }, simulate(weak, traffic, { seed: 1 })).items.find(
      (i) => i.id === 'availability'
    )
  t.equal(held(0.99)?.points, 10)
  t.equal(held(0.9999)?.points, 7)
  t.match(
    held(0.9999)?.finding,
    /^The design is up 99\.85% of the time .* against a target of 99\.99% \(4 nines, 4\.32 minutes a month\)\.$/
  )
  t.match(held(0.9999)?.title, 'Availability of at least 99.99%')
  const headroom = g.items.find((i) => i.id === 'capacity_headroom')
  t.match(headroom?.suggestion, /^Bring each under 70%: api to 5 instances \(now 1, \+\$280 a month\)/)
  t.match(
    g.items.find((i) => i.id === 'survives_instance_loss')?.finding,
    /api's only instance is lost \(an outage for 100% of requests\)/
  )
})

t.test('reports in each format', async (t) => {
  const result = simulate(SAMPLE_DESIGN, traffic, { seed: 1 })
  const input = {
    workspace: { id: 'w1', name: 'Shop <checkout> & "cart"', description: 'Three tiers', version: 3 },
    design: SAMPLE_DESIGN,
    traffic,
    simulation: { id: 's1', createdAt: '2026-01-01T00:00:00.000Z', result },
    grade: { id: 'g1', ...grade(SAMPLE_DESIGN, traffic, result) },
    generatedAt: '2026-01-02T00:00:00.000Z'
  }
  const json = renderReport('json', input)
  t.equal(json.contentType, 'application/json; charset=utf-8')
  t.same(JSON.parse(json.content).simulation.result.overall, result.overall)

  const md = renderReport('markdown', input)
  t.equal(md.contentType, 'text/markdown; charset=utf-8')
  t.match(md.content, /^# Shop \\<checkout\\> \\& \\"cart\\" — system design report/)
  t.match(md.content, /\| api \| 600 \| 50\.0% \|/)
  t.match(md.content, /## Grade: 100\/100/)

  const html = renderReport('html', input)
  t.equal(html.contentType, 'text/html; charset=utf-8')
  t.match(html.content, /<svg [^>]*aria-label="Utilisation per component"/)
  t.match(html.content, /<svg [^>]*aria-label="Latency percentiles"/)
  t.match(html.content, /<rect [^>]*><title>api: 50\.0%<\/title><\/rect>/)
  t.match(html.content, /Shop &lt;checkout&gt; &amp; &quot;cart&quot;/)
  t.notMatch(html.content, /<checkout>/, 'names are escaped')
  t.notMatch(html.content, /<script/i)
  t.match(html.content, /<rect [^>]*fill="#2980b9"><title>p95: /, 'a percentile within the SLO is blue')
  const strict = renderReport('html', { ...input, traffic: { ...traffic, latencySloMs: 1 } })
  t.match(strict.content, /<rect [^>]*fill="#c0392b"><title>p95: /, 'one above it is red')

  const empty = renderReport('markdown', { ...input, simulation: null, grade: null })
  t.match(empty.content, /No completed simulation yet/)
  t.match(md.content, /^# .*\n\nThree tiers\n\nGenerated /, 'the description is its own paragraph')
  const bare = renderReport('markdown', { ...input, workspace: { ...input.workspace, description: '' } })
  t.notMatch(bare.content, /\n\n\n/, 'no description leaves no gap')
  t.equal(reportFilename('Shop <checkout> & "cart"', 'html'), 'Shop-checkout-cart-report.html')

  // Newlines and Markdown syntax in a name or description start no block of their own.
  const hostile = renderReport('markdown', {
    ...input,
    workspace: {
      ...input.workspace,
      name: 'Shop\n# Injected heading\n```js\nalert(1)\n```',
      description:
        'line one\n> quoted\n    indented code\n- item\n[click](javascript:alert(1)) <https://evil.example> www.evil.example\n==='
    }
  }).content
  const lines = hostile.split('\n')
  t.same(
    lines.filter((l) => l.startsWith('#')).map((l) => l.split(' ')[0]),
    ['#', '##', '##', '##', '##'],
    'the only headings are the report’s own'
  )
  t.notOk(
    lines.some((l) => /^\s*(```|>|- item| {4}|===)/.test(l)),
    'no fence, quote, list, code block or setext line'
  )
  t.notMatch(hostile, /(?<!\\)\]\(|(?<!\\)<https|www\.evil|https:/, 'no link or autolink survives unescaped')
  t.match(hostile, /^# Shop \\# Injected heading \\`\\`\\`js alert\\\(1\\\)/, 'the name stays on its heading line')
  t.equal(reportFilename('🚀', 'md'), 'workspace-report.md')
})

t.test('grading: a large pool running hot is not failed; a cache that absorbs nothing earns nothing', async (t) => {
  const pool: Design = {
    components: [
      { id: 'users', type: 'client' } as Design['components'][number],
      { id: 'api', type: 'service', instances: 25, concurrency: 8, serviceTimeMs: 20 }
    ],
    links: [{ from: 'users', to: 'api' }]
  }
  // 200 servers at 85 %: Erlang C's waiting probability is tiny, and so is the wait.
  const busy = { ...traffic, peakRps: 0.85 * 200 * 50 }
  const result = simulate(pool, busy, { seed: 2 })
  t.ok((result.components[0].utilization ?? 0) >= 0.85)
  t.equal(grade(pool, busy, result).items.find((i) => i.id === 'capacity_headroom')?.points, 20)

  const coldCache: Design = {
    components: [
      { id: 'users', type: 'client' } as Design['components'][number],
      { id: 'api', type: 'service', instances: 3, concurrency: 8, serviceTimeMs: 20 },
      { id: 'cache', type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0 },
      { id: 'db', type: 'database', instances: 2, concurrency: 16, serviceTimeMs: 5 }
    ],
    links: [
      { from: 'users', to: 'api' },
      { from: 'api', to: 'cache' },
      { from: 'cache', to: 'db' }
    ]
  }
  const cold = grade(coldCache, traffic, simulate(coldCache, traffic, { seed: 3 })).items.find(
    (i) => i.id === 'cache_for_reads'
  )
  t.equal(cold?.points, 0, 'a hit ratio of 0 absorbs no reads')
  const warm = {
    ...coldCache,
    components: coldCache.components.map((c) => (c.id === 'cache' ? { ...c, hitRatio: 0.3 } : c))
  }
  t.equal(
    grade(warm, traffic, simulate(warm, traffic, { seed: 3 })).items.find((i) => i.id === 'cache_for_reads')?.points,
    6,
    'a 30 % hit ratio absorbs 30 % of reads: 6 of 10 (full marks from 50 %)'
  )
})

t.test('grading: a budget adds a cost item that flips, and the score stays out of 100', async (t) => {
  const result = simulate(SAMPLE_DESIGN, traffic, { seed: 1 })
  // SAMPLE_DESIGN: lb 2 × 20, api 3 × 70, cache 2 × 50, db (1 + 1 replica) × 200 = 750 a month.
  const within = grade(SAMPLE_DESIGN, { ...traffic, budgetPerMonth: 800 }, result)
  t.equal(within.items.length, 8)
  t.match(within.items.at(-1), { id: 'cost_within_budget', points: 10, passed: true })
  t.equal(within.score, 100)
  const over = grade(SAMPLE_DESIGN, { ...traffic, budgetPerMonth: 600 }, result)
  // 25 % over: half the points.
  t.match(over.items.at(-1), { id: 'cost_within_budget', points: 5, passed: false })
  t.match(over.items.at(-1)?.finding, /costs \$750 a month against a budget of \$600 \(25% over/)
  t.equal(over.score, Math.round((100 * 105) / 110))
  t.equal(grade(SAMPLE_DESIGN, { ...traffic, budgetPerMonth: null }, result).items.length, 7, 'no budget, no item')
})

t.test('availability reads with as many digits as its nines need', async (t) => {
  t.same([0.999, 0.9985, 0.9995, 0.999999, 0.9, 1].map(availabilityPct), [
    '99.9%',
    '99.85%',
    '99.95%',
    '99.9999%',
    '90%',
    '100%'
  ])
})

t.test('computed rates and latencies read as people read them, in every report', async (t) => {
  t.same([1458.333, 1990.078, 100, 99.95, 12.3456, 0.001].map(rps), [
    '1458 rps',
    '1990 rps',
    '100 rps',
    '100 rps',
    '12.3 rps',
    '0.001 rps'
  ])
  // A design whose loads and crossings fall between whole numbers prints none of their decimals.
  const peak = { ...traffic, peakRps: 333.3 }
  const result = simulateAndAnalyze(SAMPLE_DESIGN, peak, 1)
  const input = reportInput('W', SAMPLE_DESIGN, peak, result, grade(SAMPLE_DESIGN, peak, result))
  for (const format of ['markdown', 'html'] as const) {
    const { content } = renderReport(format, input)
    t.notMatch(content, /\d\.\d{2,} rps/, `${format}: no rate with more digits than it can mean`)
    t.match(content, format === 'html' ? '<td>api</td><td>333</td>' : '| api | 333 |', 'arrivals too')
    t.notMatch(content, /\d\.\d{3,}( ms|<| \|)/, `${format}: latencies to three significant figures`)
    t.match(content, `sustainable ${format === 'html' ? 'to' : 'up to'} ${rps(result.overall.maxSustainableRps)}`)
  }
})
