import fc from 'fast-check'
import t, { type Test } from 'tap'
import { featureDesign } from '../../bench/lib/context.ts'
import {
  analyze,
  parallel,
  requiredInstances,
  simulateAndAnalyze,
  suggestInstances
} from '../../src/domain/analysis.ts'
import { simulate } from '../../src/domain/engine.ts'
import { sizedSentence, sloBreakSentence } from '../../src/domain/format.ts'
import { NODE_H, NODE_W } from '../../src/domain/layout.ts'
import { type Component, type Design, LIMITS, type TrafficProfile } from '../../src/domain/model.ts'
import { erlangC } from '../../src/domain/queueing.ts'
import { architectureSvg, labelBox, loadCurveSvg, overlaps, renderReport } from '../../src/domain/report.ts'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { validateDesign } from '../../src/domain/validate.ts'
import { reportInput } from '../helpers/reports.ts'

// The coach's next questions, each against its closed form.

const traffic = (peakRps: number, latencySloMs = 300): TrafficProfile => ({
  peakRps,
  readRatio: 0.8,
  payloadKb: 4,
  latencySloMs
})
const close = (t: Test, actual: number, expected: number, tolerance: number, msg: string) =>
  t.ok(Math.abs(actual - expected) <= tolerance, `${msg}: ${actual} ≈ ${expected} (±${tolerance})`)
const users = { id: 'users', type: 'client' } as Component
const tiers = (a: Partial<Component>, b: Partial<Component>): Design => ({
  components: [
    users,
    { id: 'a', type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 10, ...a },
    { id: 'b', type: 'service', instances: 1, concurrency: 4, serviceTimeMs: 10, ...b }
  ],
  links: [
    { from: 'users', to: 'a' },
    { from: 'a', to: 'b' }
  ]
})

t.test('availability: copies in parallel, tiers in series, exactly', async (t) => {
  const a999 = tiers({ availability: 0.999 }, { availability: 0.999 })
  const series = analyze(a999, traffic(10), simulate(a999, traffic(10)))
  t.equal(series.availability.fraction, 0.998001, 'two 99.9 % single-instance tiers in series')
  const pair = tiers({ instances: 2, availability: 0.99 }, { availability: 1 })
  t.equal(analyze(pair, traffic(10), simulate(pair, traffic(10))).availability.fraction, 0.9999, 'two 99 % in parallel')
  t.equal(parallel(0.99, 2), 0.9999)
  t.equal(series.availability.nines, 2.7, '−log10(0.001999)')
  close(t, series.availability.downtimeMinutesPerMonth, 0.001999 * 43200, 0.01, 'downtime a month')
  // Weighted over the path mix: half the requests skip b.
  const half: Design = { ...a999, links: [a999.links[0], { ...a999.links[1], share: 0.5 }] }
  t.equal(analyze(half, traffic(10), simulate(half, traffic(10))).availability.fraction, 0.5 * 0.999 + 0.5 * 0.998001)
})

t.test('cost sums exactly, replicas included', async (t) => {
  const design: Design = {
    ...tiers({ instances: 3, costPerMonth: 70 }, { instances: 2 }),
    components: [
      ...tiers({ instances: 3, costPerMonth: 70 }, { instances: 2 }).components,
      { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 5, replicas: 2, costPerMonth: 150 }
    ]
  }
  design.links.push({ from: 'b', to: 'db' })
  const { cost } = analyze(design, traffic(100), simulate(design, traffic(100)))
  t.equal(
    cost.perMonth,
    3 * 70 + 2 * 70 + 3 * 150,
    'services at the default 70, the database and its two replicas at 150'
  )
  t.same(
    cost.byComponent.map((c) => c.perMonth),
    [210, 140, 450]
  )
  close(t, cost.perMillionRequests, (800 / (100 * 30 * 86400)) * 1e6, 1e-4, 'per million requests at peak')
})

t.test('losing one of n instances recomputes utilisation as λ / ((n − 1) · concurrency · μ)', async (t) => {
  const design = tiers({ instances: 4 }, { instances: 1 })
  const peak = traffic(600)
  const result = simulate(design, peak)
  const { failures } = analyze(design, peak, result)
  const a = failures.find((f) => f.component === 'a')
  t.match(a, { lost: 'instance', outage: false })
  // The scenario's own run: a at 600 / (3 · 4 · 100) = 0.5.
  const three = simulate(tiers({ instances: 3 }, { instances: 1 }), peak, { samples: 1000 })
  t.equal(three.components.find((c) => c.id === 'a')?.utilization, 600 / (3 * 4 * 100))
  t.equal(a?.p95, three.overall.p95, 'the scenario is the design with one instance fewer')
  const b = failures.find((f) => f.component === 'b')
  t.same(
    b,
    { component: 'b', lost: 'instance', outage: true, p95: null, errorRate: 1, sloHolds: false },
    'b alone: an outage for every request'
  )
  const db: Design = {
    components: [users, { id: 'db', type: 'database', instances: 1, concurrency: 4, serviceTimeMs: 5, replicas: 2 }],
    links: [{ from: 'users', to: 'db' }]
  }
  const promoted = analyze(db, traffic(200), simulate(db, traffic(200))).failures[0]
  t.match(promoted, { component: 'db', lost: 'primary', outage: false }, 'a replica is promoted')
})

t.test('the sweep is monotone, ends past maxSustainableRps, and names what breaks first', async (t) => {
  const design = tiers({ instances: 2 }, { instances: 1, serviceTimeMs: 20 })
  const peak = traffic(100, 120)
  const result = simulate(design, peak)
  const analysis = analyze(design, peak, result)
  t.ok(analysis.sweep.length >= 12)
  t.ok((analysis.sweep.at(-1)?.rps ?? 0) >= result.overall.maxSustainableRps, 'ends past the ceiling')
  for (let i = 1; i < analysis.sweep.length; i++) {
    t.ok(analysis.sweep[i].rps > analysis.sweep[i - 1].rps)
    t.ok(
      analysis.sweep[i].maxUtilization >= analysis.sweep[i - 1].maxUtilization,
      `utilisation rises at ${analysis.sweep[i].rps}`
    )
  }
  // b (4 servers of 20 ms: 200 rps) crosses 0.7 at 140 rps, before a (8 of 10 ms: 800 rps) at 560.
  t.same(analysis.breaksFirst.slice(0, 3), [
    { component: 'b', utilization: 0.7, rps: 140 },
    { component: 'b', utilization: 0.9, rps: 180 },
    { component: 'b', utilization: 1, rps: 200 }
  ])
  t.equal(result.overall.maxSustainableRps, 200)
  t.ok(
    analysis.sloBreakRps !== null && analysis.sloBreakRps > 100 && analysis.sloBreakRps <= 200,
    `the SLO breaks at ${analysis.sloBreakRps}`
  )
})

t.test('the capacity solver agrees with an exhaustive search, exactly where the model is', async (t) => {
  const svc = (fields: Partial<Component>): Component => ({
    id: 's',
    type: 'service',
    instances: 1,
    concurrency: 1,
    serviceTimeMs: 10,
    ...fields
  })
  // Brute force over n from the closed forms: utilisation ≤ 0.7, Erlang C ≤ 0.2 (pooled: one
  // M/M/(n·k); random: n M/M/k each with λ/n), below saturation with one lost, at least 2.
  fc.assert(
    fc.property(
      fc.double({ min: 0.5, max: 3000, noNaN: true }),
      fc.integer({ min: 1, max: 8 }),
      fc.double({ min: 1, max: 200, noNaN: true }),
      fc.boolean(),
      (lambda, concurrency, serviceTimeMs, random) => {
        const mu = 1000 / serviceTimeMs
        const meets = (n: number) =>
          n >= 2 &&
          lambda / (n * concurrency * mu) <= 0.7 + 1e-12 &&
          lambda / ((n - 1) * concurrency * mu) < 1 &&
          (random ? erlangC(concurrency, lambda / n / mu) : erlangC(n * concurrency, lambda / mu)) <= 0.2 + 1e-12
        // Past the design's limit of instances, the limit is what it suggests.
        let brute = 1
        while (brute < LIMITS.instances && !meets(brute)) brute++
        const c = svc({ concurrency, serviceTimeMs, balancing: random ? 'random' : 'pooled' })
        return requiredInstances(c, lambda).instances === brute
      }
    ),
    { seed: 5, numRuns: 1000 }
  )
  // a = 8 Erlangs: c = 11 lets 29 % of arrivals wait, c = 12 lets 18 %.
  t.ok(erlangC(11, 8) > 0.2 && erlangC(12, 8) <= 0.2, `${erlangC(11, 8)} > 0.2 ≥ ${erlangC(12, 8)}`)
  t.same(requiredInstances(svc({ serviceTimeMs: 100 }), 80), { instances: 12, binding: 'headroom' })
  // Single-threaded instances balanced at random are M/M/1 queues, each waiting with probability
  // ρ: 20 rps of 100 ms needs ρ = 2 / n ≤ 0.2, ten of them, where the headroom asks for three.
  t.same(requiredInstances(svc({ serviceTimeMs: 100, balancing: 'random' }), 20), { instances: 10, binding: 'waiting' })

  const { suggestions } = simulateAndAnalyze(SAMPLE_DESIGN, traffic(400), 1).analysis
  // api: 400 rps over 3 × 8 servers of 20 ms (400 rps an instance): 2 for the headroom, 3 to survive one lost.
  t.equal(
    suggestions.find((s) => s.component === 'api'),
    undefined,
    'already right-sized: no suggestion'
  )
  const hot = tiers({ instances: 1 }, { instances: 6 })
  const more = simulateAndAnalyze(hot, traffic(350), 1).analysis
  // a: 350 rps on one instance of 400: 2 for the headroom (350 / 560), 2 to survive one lost.
  t.match(more.suggestions, [
    { component: 'a', instances: 1, suggested: 2, costDeltaPerMonth: 70, binding: 'headroom' },
    { component: 'b', instances: 6, suggested: 2, costDeltaPerMonth: -280 }
  ])
  t.match(more.sized, { errorRate: 0, sloHolds: true })
})

t.test('the capacity solver grows what loses requests until the sized design loses none', async (t) => {
  // 300 rps of 10 ms with two waiting places an instance: the headroom asks for 5, which still
  // turn away 3.6 % of arrivals; the solver adds instances until the design at peak loses none.
  const design = (n: number): Design => ({
    components: [users, { id: 'a', type: 'service', instances: n, concurrency: 1, serviceTimeMs: 10, queueLimit: 2 }],
    links: [{ from: 'users', to: 'a' }]
  })
  const profile = traffic(300)
  const at = (rps: number, d: Design) => simulate(d, { ...profile, peakRps: rps }, { seed: 1, samples: 1000 })
  const { suggestions, sized } = suggestInstances(design(1), profile, at)
  let brute = 2
  while (at(300, design(brute)).overall.errorRate > 0) brute++
  t.match(suggestions, [{ component: 'a', suggested: brute, binding: 'slo' }], `the smallest lossless size, ${brute}`)
  t.ok(brute > requiredInstances(design(1).components[1], 300).instances, 'more than the headroom alone asks')
  t.same(sized, { p95: at(300, design(brute)).overall.p95, errorRate: 0, sloHolds: true })

  // A p95 set by service times (two 200 ms hops against a 300 ms SLO): instances cannot fix it,
  // and the solver says so instead of growing the design without end.
  const slow = tiers({ serviceTimeMs: 200 }, { serviceTimeMs: 200 })
  const stuck = suggestInstances(slow, traffic(10), (rps, d) =>
    simulate(d, { ...traffic(10), peakRps: rps }, { seed: 1, samples: 1000 })
  )
  t.equal(stuck.sized?.sloHolds, false)
  t.notOk(
    stuck.suggestions.some((s) => s.binding === 'slo'),
    'no instance is added for a latency that waiting does not cause'
  )
})

t.test('every report format carries the analysis', async (t) => {
  const profile = traffic(400)
  const result = simulateAndAnalyze(SAMPLE_DESIGN, profile, 3)
  const input = reportInput('Sample', SAMPLE_DESIGN, profile, result)
  const md = renderReport('markdown', input).content
  t.match(
    md,
    /### What breaks first\n\nThe p95 SLO of 300 ms is first missed at [\d.]+ rps\.\n\n\| component \| utilisation \| reached at \(rps\) \|/
  )
  t.match(md, /### If an instance is lost\n/)
  t.match(md, /\| db \| primary \(a replica promoted\) \|/)
  t.match(md, /Availability [\d.]+% \([\d.]+ nines, [\d.]+ minutes down a month\); \$\d+ a month/)
  const html = renderReport('html', input).content
  for (const title of ['What breaks first', 'If an instance is lost', 'Availability and cost', 'Suggested sizes'])
    t.match(html, `<h3>${title}</h3>`)
  t.match(renderReport('json', input).content, /"sloBreakRps"/)
})

t.test('the HTML report draws the architecture and the load curve', async (t) => {
  const profile = traffic(700)
  const result = simulateAndAnalyze(SAMPLE_DESIGN, profile, 4)
  const html = renderReport('html', reportInput('Sample', SAMPLE_DESIGN, profile, result)).content
  const svg = /<svg [^>]*aria-label="Architecture"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? ''
  for (const c of SAMPLE_DESIGN.components) t.match(svg, `data-component="${c.id}"`, `${c.id} is drawn`)
  t.equal((svg.match(/data-component=/g) ?? []).length, SAMPLE_DESIGN.components.length, 'a node per component')
  t.equal((svg.match(/data-link=/g) ?? []).length, SAMPLE_DESIGN.links.length, 'a line per link')
  t.match(
    svg,
    new RegExp(`data-component="${result.overall.bottleneck}" data-bottleneck="true"`),
    'the bottleneck is marked'
  )
  t.equal((svg.match(/data-bottleneck/g) ?? []).length, 1)
  t.notMatch(html, /<script/i, 'no script')
  const points = (/data-curve="p95" points="([^"]+)"/.exec(html)?.[1] ?? '')
    .split(' ')
    .map((p) => p.split(',').map(Number))
  t.equal(points.length, result.analysis.sweep.length, 'a point per sweep load')
  for (let i = 1; i < points.length; i++) t.ok(points[i][0] > points[i - 1][0], 'the curve runs left to right')
  t.ok(
    points.every((p, i) => i === 0 || p[1] <= points[i - 1][1] + 1e-9),
    'and its p95 never falls as load grows (SVG y grows downward)'
  )
})

t.test('a whole zone lost: instances placed there go, a component left with none is down', async (t) => {
  const design: Design = {
    components: [
      users,
      { id: 'api', type: 'service', instances: 4, concurrency: 4, serviceTimeMs: 10, zones: ['east', 'west'] },
      { id: 'db', type: 'database', instances: 1, concurrency: 8, serviceTimeMs: 5, zones: ['east'] }
    ],
    links: [
      { from: 'users', to: 'api' },
      { from: 'api', to: 'db', share: 0.4 }
    ]
  }
  const peak = traffic(500)
  const { failures } = analyze(design, peak, simulate(design, peak))
  const east = failures.find((f) => f.component === 'zone:east')
  const west = failures.find((f) => f.component === 'zone:west')
  t.match(east, { lost: 'zone', outage: true }, 'east holds the only database')
  close(t, east?.errorRate ?? 0, 0.4, 1e-9, 'the 40 % of requests that reach it fail')
  t.equal(east?.sloHolds, false)
  const twoLeft = simulate(
    { ...design, components: design.components.map((c) => (c.id === 'api' ? { ...c, instances: 2 } : c)) },
    peak,
    // As the analysis's what-ifs run: a thousand drawn paths.
    { seed: 1, samples: 1000, exact: false }
  )
  t.match(west, { lost: 'zone', outage: false, p95: twoLeft.overall.p95, errorRate: 0 }, 'west: two api instances left')
  t.same(
    validateDesign({
      ...design,
      components: [users, { ...design.components[1], zones: ['east', 'east'] }, design.components[2]]
    }).map((p) => p.path),
    ['/components/1/zones']
  )
})

t.test('the architecture’s link labels cover no node and no other label', async (t) => {
  const design = featureDesign(12)
  const profile = { ...traffic(400), budgetPerMonth: 3000 }
  const result = simulateAndAnalyze(design, profile, 1)
  const svg = architectureSvg(design, result)
  const labels = [
    ...svg.matchAll(/<text data-label-for="([^"]+)" x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]+)<\/text>/g)
  ].map(([, link, x, y, text]) => ({ link, box: labelBox(text, Number(x), Number(y)) }))
  // Every link with a share other than 1, a traffic kind or a timeout is labelled.
  t.equal(labels.length, design.links.filter((l) => l.share !== undefined || l.traffic || l.timeoutMs).length)
  t.ok(
    labels.some((l) => l.link === 't0-b-&gt;t0-ext'),
    'the timeout is labelled'
  )
  t.match(svg, /timeout 100 ms, [\d.]+% time out/)
  // Its timeouts lose requests long before the p95 nears the SLO: the curve says which broke.
  t.match(loadCurveSvg(result.analysis, 300, 400), />requests lost from [\d.]+ rps</)
  const nodes = [...svg.matchAll(/data-component="[^"]+"[^>]*transform="translate\(([\d.-]+) ([\d.-]+)\)"/g)].map(
    ([, x, y]) => ({ x1: Number(x), y1: Number(y), x2: Number(x) + NODE_W, y2: Number(y) + NODE_H })
  )
  t.equal(nodes.length, design.components.length)
  for (const [i, a] of labels.entries()) {
    for (const b of labels.slice(i + 1)) t.notOk(overlaps(a.box, b.box), `${a.link} and ${b.link} labels apart`)
    for (const n of nodes) t.notOk(overlaps(a.box, n), `${a.link}'s label off the nodes`)
  }
})

t.test('what breaks the SLO first is named: the p95, or requests lost while it holds', async (t) => {
  const sweep = [
    { rps: 10, p95: 50, errorRate: 0 },
    { rps: 20, p95: 60, errorRate: 0.01 },
    { rps: 30, p95: 400, errorRate: 0.02 }
  ]
  t.equal(
    sloBreakSentence({ sloBreakRps: null, sweep }, 300),
    'The p95 SLO of 300 ms holds at every load of the sweep, and no request is lost.'
  )
  t.match(sloBreakSentence({ sloBreakRps: 15.5, sweep }, 300), /^Requests are first lost at 15.5 rps/)
  t.equal(sloBreakSentence({ sloBreakRps: 25, sweep }, 300), 'The p95 SLO of 300 ms is first missed at 25 rps.')
})

t.test('the sized design says what is left when the SLO still breaks', async (t) => {
  t.match(sizedSentence({ p95: 120, errorRate: 0, sloHolds: true }, 300), /: the SLO holds\.$/)
  t.match(sizedSentence({ p95: 420, errorRate: 0, sloHolds: false }, 300), /service time, not waiting\.$/)
  t.match(
    sizedSentence({ p95: 58, errorRate: 0.0023, sloHolds: false }, 300),
    /and 0\.23% of requests are lost: requests are still lost, to timeouts or full queues/
  )
})
