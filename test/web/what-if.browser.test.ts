// What-if on the canvas, Tidy and the phone's sheet in a real browser (Debian's Chromium) against
// the real api and worker: the load sweep as a chart; 2× peak and a lost instance shown at once,
// their figures those of a preview of the changed design, the saved design untouched; each link's
// request rate; Tidy leaves no link under a component; on a phone the panel is a sheet.
import type { Page } from 'playwright-core'
import t from 'tap'
import { ms, percent } from '../../src/domain/format.ts'
import { linkOverNode } from '../../src/domain/layout.ts'
import type { Design } from '../../src/domain/model.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildWeb } from '../../web/build.ts'
import { applyWhatIf, type Failure } from '../../web/src/what-if.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { launch, shot, watch } from './browser.ts'

/**
 * Each node's text that runs out of its box (or past the link handle at its right edge), or is
 * cut short with an ellipsis: as drawn, by the text's own box in the node's coordinates.
 */
function labelOverflows(page: Page): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('g.node')].flatMap((g) => {
    const box = g.querySelector('rect.node-box').getBBox()
    return [...g.querySelectorAll('text.node-id, text.node-detail')].flatMap((text) => {
      const b = text.getBBox()
      const out = b.x < box.x || b.y < box.y || b.x + b.width > box.x + box.width - 8 ||
        b.y + b.height > box.y + box.height || text.textContent.includes('…')
      return out ? [g.dataset.id + ': "' + text.textContent + '" at ' + [b.x, b.y, b.width, b.height].map(Math.round) + ' in ' + [box.width, box.height]] : []
    })
  })`)
}

const PASSWORD = 'a long and careful passphrase'
const DESIGN = {
  components: [
    { id: 'users', type: 'client', x: 40, y: 140 },
    {
      id: 'lb',
      type: 'load_balancer',
      instances: 2,
      concurrency: 500,
      serviceTimeMs: 0.5,
      zones: ['a', 'b'],
      x: 260,
      y: 140
    },
    { id: 'api', type: 'service', instances: 4, concurrency: 4, serviceTimeMs: 20, zones: ['a', 'b'], x: 480, y: 140 },
    { id: 'db', type: 'database', instances: 1, concurrency: 30, serviceTimeMs: 4, replicas: 1, x: 700, y: 140 }
  ],
  links: [
    { from: 'users', to: 'lb' },
    { from: 'lb', to: 'api' },
    { from: 'api', to: 'db' }
  ]
}

t.test('what-if on the canvas, Tidy and the phone sheet', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const api = await startApi({ DATABASE_URL: url, RATE_LIMIT_MAX_REQUESTS: '100000' }, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const worker = await startWorker({ DATABASE_URL: url }, ['--queues', 'simulation'])
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`
  const json = { 'content-type': 'application/json' }
  const email = `whatif-${Date.now()}@example.com`
  await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password: PASSWORD, displayName: 'What If' })
  })
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password: PASSWORD })
  })
  const auth = { ...json, authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` }
  const created = (await (
    await fetch(`${base}/workspaces`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        name: 'What if',
        design: DESIGN,
        trafficProfile: { peakRps: 300, readRatio: 0.8, payloadKb: 2, latencySloMs: 150 }
      })
    })
  ).json()) as { id: string }
  const stored = async () =>
    (await (await fetch(`${base}/workspaces/${created.id}`, { headers: auth })).json()) as {
      version: number
      design: Design
    }
  /** What the api previews for a draft: the figures the what-if must show. */
  const previewOf = async (design: object, peakRps: number, down?: string[]) =>
    (await (
      await fetch(`${base}/workspaces/${created.id}/preview`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          design,
          down,
          trafficProfile: {
            peakRps,
            readRatio: 0.8,
            payloadKb: 2,
            latencySloMs: 150,
            budgetPerMonth: null,
            availabilityTarget: null
          }
        })
      })
    ).json()) as {
      overall: { p95: number | null; errorRate: number }
      links: { from: string; to: string; rps: number }[]
    }

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  const watched = watch(page)
  // The quick preview may find the preview thread busy on a loaded machine: it retries.
  watched.expectStatuses.add(503)
  await page.goto(`${base}/`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).last().click()
  await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
  await page.goto(`${base}/#/w/${created.id}`)
  await page.locator('g.node[data-id="api"]').waitFor()

  await t.test('each link shows its request rate', async (t) => {
    const label = page.locator('text.link-label[data-label-of="users->lb"]')
    await label.waitFor({ timeout: 15_000 })
    t.match(await label.textContent(), /^300 req\/s/)
    t.match(await page.locator('text.link-label[data-label-of="api->db"]').textContent(), /^300 req\/s/)
  })

  await t.test('the sweep as a chart: p95 against load, the SLO, where it breaks', async (t) => {
    await page.getByRole('button', { name: 'Simulate' }).click()
    await page.locator('section.results').waitFor({ timeout: 90_000 })
    await page.getByRole('tab', { name: 'What-if' }).click()
    const chart = page.locator('[data-sweep]')
    await chart.waitFor()
    t.equal(await chart.locator('.slo-line').count(), 1, 'the SLO line')
    t.ok((await chart.locator('polyline.sweep-line').getAttribute('points'))?.includes(','), 'the p95 curve')
    t.match(await chart.textContent(), /SLO 150 ms/)
    t.match(await chart.getByRole('img').getAttribute('aria-label'), /p95 latency against offered load/)
  })

  const before = await stored()
  await t.test('2× peak and a lost instance: the preview’s figures of the changed design, at once', async (t) => {
    await page.getByRole('button', { name: '2× peak' }).click()
    await page.locator('[data-what-if]').waitFor()
    const doubled = await previewOf(DESIGN, 600)
    await page.locator('[data-what-if-p95]', { hasText: ms(doubled.overall.p95) }).waitFor({ timeout: 15_000 })
    t.pass(`p95 at 2× peak: ${ms(doubled.overall.p95)}, as a preview of it says`)
    await page
      .locator('text.link-label[data-label-of="users->lb"]', { hasText: /^600 req\/s/ })
      .waitFor({ timeout: 10_000 })
    t.ok(await page.locator('.canvas-wrap.what-if').isVisible(), 'the canvas is marked as a what-if')
    await page.getByLabel(/Click a component on the canvas to lose one instance/).check()
    await page.locator('g.node[data-id="api"]').click()
    await page.locator('.failure-list li', { hasText: 'api lost an instance' }).waitFor()
    const lost = {
      ...DESIGN,
      components: DESIGN.components.map((c) => (c.id === 'api' ? { ...c, instances: 3 } : c))
    }
    const both = await previewOf(lost, 600)
    await page.locator('[data-what-if-p95]', { hasText: ms(both.overall.p95) }).waitFor({ timeout: 15_000 })
    t.pass(`and with api one instance down: ${ms(both.overall.p95)}`)
    t.match(
      await page.locator('[data-what-if]').textContent(),
      /What-if, not saved, not graded: 2× peak, api lost an instance/
    )
    await page.getByRole('button', { name: 'Lose zone a' }).click()
    await page.locator('.failure-list li', { hasText: 'zone a lost' }).waitFor()
    await shot(page, 'what-if')
  })

  await t.test(
    'losing the database’s primary and then its promoted replica: db is down, the requests fail',
    async (t) => {
      await page.locator('g.node[data-id="db"]').click()
      await page.locator('.failure-list li', { hasText: 'db’s primary lost' }).waitFor()
      t.notOk(await page.locator('g.node.down').count(), 'a replica takes over: nothing is down')
      await page.locator('g.node[data-id="db"]').click()
      await page.locator('.failure-list li', { hasText: 'db lost an instance' }).waitFor()
      await page.locator('g.node.down[data-id="db"]').waitFor()
      t.match(await page.locator('g.node[data-id="db"] .node-detail').textContent(), 'down: its requests fail')
      t.match(await page.locator('g.node[data-id="db"]').getAttribute('aria-label'), /down in the what-if/)
      // The figures are those of a preview of the changed design with db down (every request meets it).
      const failures: Failure[] = [
        { kind: 'instance', component: 'api' },
        { kind: 'zone', zone: 'a' },
        { kind: 'primary', component: 'db' },
        { kind: 'instance', component: 'db' }
      ]
      const profile = { peakRps: 300, readRatio: 0.8, payloadKb: 2, latencySloMs: 150 }
      const changed = applyWhatIf(DESIGN as never, profile, { multiplier: 2, failures })
      t.same(changed.down, ['db'])
      const expected = await previewOf(changed.design, 600, changed.down)
      t.equal(expected.overall.errorRate, 1, 'every request meets the database')
      const outage = page.locator('[data-what-if-outage]')
      await outage.waitFor({ timeout: 15_000 })
      t.match(await outage.textContent(), /Down: db.*100% of requests meet it and fail: an outage of the whole design/)
      t.match(await outage.textContent(), /lb → api → db/)
      t.equal(await page.locator('[data-what-if-errors]').textContent(), percent(expected.overall.errorRate))
      t.equal(await page.locator('[data-what-if-p95]').textContent(), 'none served')
      t.match(await page.locator('[data-what-if-figures]').textContent(), /What-if figures \(not the saved design’s\)/)
      t.same(await labelOverflows(page), [], 'every label fits its node')
      await shot(page, 'what-if-down')
      const after = await stored()
      t.equal(after.version, before.version, 'the saved design is untouched: no save')
      t.match(
        after.design.components.find((c) => c.id === 'db'),
        { instances: 1, replicas: 1 }
      )
      t.same(after.design, before.design)
      t.equal(await page.locator('[data-save="design"]').textContent(), 'Design: saved')
      await page.getByRole('button', { name: 'Back to the design as it is' }).first().click()
      await page.locator('[data-what-if]').waitFor({ state: 'detached' })
      await page.locator('text.link-label[data-label-of="users->lb"]', { hasText: /^300 req\/s/ }).waitFor()
    }
  )

  await t.test('labels fit their nodes: saturated at 3× peak, every exercise’s reference, long names', async (t) => {
    await page.getByRole('button', { name: '3× peak' }).click()
    // api serves 800 requests a second at most: at 900 it saturates and its p95 is unbounded.
    const api = page.locator('g.node[data-id="api"]')
    await page.locator('g.node[data-id="api"] .node-detail', { hasText: /p95\s∞/ }).waitFor({ timeout: 15_000 })
    t.match(await api.getAttribute('aria-label'), /p95\s∞ \(unbounded — the queue grows by/, 'said in full')
    t.match(await api.locator('title').first().textContent(), /unbounded — the queue grows by/)
    t.same(await labelOverflows(page), [], 'saturated: every label fits')
    await shot(page, 'saturated')
    await page.getByRole('button', { name: 'Back to the design as it is' }).first().click()
    await page.locator('[data-what-if]').waitFor({ state: 'detached' })

    const designs: [string, object][] = exercises().list.map((e) => [e.slug, e.reference.design])
    designs.push([
      'long names',
      {
        components: [
          { id: 'users', type: 'client' },
          { id: 'payments-reconciliation-worker', type: 'service', instances: 12, concurrency: 8, serviceTimeMs: 5 },
          { id: 'x'.repeat(40), type: 'queue', instances: 2, concurrency: 8, serviceTimeMs: 1 }
        ],
        links: [
          { from: 'users', to: 'payments-reconciliation-worker' },
          { from: 'payments-reconciliation-worker', to: 'x'.repeat(40) }
        ]
      }
    ])
    for (const [name, design] of designs) {
      const res = await fetch(`${base}/workspaces`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name, design })
      })
      t.equal(res.status, 201, `${name}: created`)
      const { id } = (await res.json()) as { id: string }
      await page.goto(`${base}/#/w/${id}`)
      await page.locator('g.node').first().waitFor()
      t.same(await labelOverflows(page), [], `${name}: every label fits its node`)
      if (name === 'long names') {
        const long = page.locator('g.node[data-id="payments-reconciliation-worker"] text.node-id')
        t.equal(await long.textContent(), 'payments-reconciliation-worker', 'the whole name, wrapped')
        t.equal(await long.locator('tspan').count(), 2, 'on two lines')
        await shot(page, 'long-names')
      }
    }
    await page.goto(`${base}/#/w/${created.id}`)
    await page.locator('g.node[data-id="api"]').waitFor()
  })

  await t.test('Tidy lays the design out with no link under a component, one step to undo', async (t) => {
    // The database put where the link from the load balancer to the api runs under it.
    const current = await stored()
    const messy = {
      ...current.design,
      components: current.design.components.map((c) =>
        c.id === 'db' ? { ...c, x: 480, y: 140 } : c.id === 'api' ? { ...c, x: 700, y: 140 } : c
      )
    }
    await fetch(`${base}/workspaces/${created.id}`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ version: current.version, design: messy })
    })
    t.ok(
      linkOverNode(messy.links, new Map(messy.components.map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]))),
      'a link runs under db'
    )
    await page.reload()
    await page.locator('g.node[data-id="db"]').waitFor()
    await page.getByRole('button', { name: 'Tidy' }).click()
    await page.waitForTimeout(1200)
    await page.locator('[data-save="design"]', { hasText: 'saved' }).waitFor()
    const tidy = (await stored()).design
    t.equal(linkOverNode(tidy.links, new Map(tidy.components.map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]))), null)
    await shot(page, 'tidy')
  })

  await t.test('on a phone the panel is a sheet over the canvas; Fit stays legible', async (t) => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    await phone.addCookies(await context.cookies())
    const small: Page = await phone.newPage()
    await small.goto(`${base}/#/w/${created.id}`)
    await small.locator('g.node[data-id="db"]').waitFor()
    await small.getByRole('button', { name: 'Fit' }).click()
    const zoom = Number((await small.getByRole('button', { name: /^Zoom \d+%/ }).textContent())?.replace('%', ''))
    t.ok(zoom >= 70, `Fit stops at ${zoom} %`)
    // Against the page's own viewport (a page wider than the phone is zoomed out to fit it).
    const sheet = await small.locator('aside.side').boundingBox()
    const height = Number(await small.evaluate('innerHeight'))
    t.ok(sheet && sheet.y < height && sheet.y + sheet.height <= height + 1, 'the sheet is on the screen, at its foot')
    await shot(small, 'phone-sheet')
    // A what-if on a phone: the banner over the canvas says its figures; the sheet shows them too.
    await small.getByRole('tab', { name: 'What-if' }).click()
    await small.getByRole('button', { name: 'Lose zone a' }).click()
    const summary = small.locator('[data-what-if-summary]')
    await summary.waitFor({ timeout: 15_000 })
    t.match(await summary.textContent(), /p95 .* · errors 0%/, 'zone a alone takes nothing down')
    t.same(await labelOverflows(small), [], 'on a phone too, every label fits its node')
    await shot(small, 'phone-what-if')
    await phone.close()
  })

  t.same(watched.problems, [], 'no console error or CSP violation')
})
