// The learner's web app in a real browser (Debian's Chromium), against the real api and worker
// processes on a test database: the journey the issue describes, end to end.
import { readFile } from 'node:fs/promises'
import type { Locator, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { availabilityPct, rps } from '../src/domain/format.ts'
import { RUBRIC_VERSION } from '../src/domain/grading.ts'
import { NODE_H, NODE_W } from '../src/domain/layout.ts'
import { buildWeb } from '../web/build.ts'
import { createTestDatabase } from './helpers/db.ts'
import { call } from './helpers/http.ts'
import { checkSql, startApi, startWorker, stopProcess } from './helpers/stack.ts'
import { waitFor } from './helpers/wait.ts'
import { launch, shot, type Watched, watch } from './web/browser.ts'

const PASSWORD = 'a long and careful passphrase'

async function center(locator: Locator) {
  const box = await locator.boundingBox()
  if (!box) throw new Error('not visible')
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
}

async function dragTo(page: Page, from: Locator, to: { x: number; y: number }) {
  const start = await center(from)
  await page.mouse.move(start.x, start.y)
  await page.mouse.down()
  await page.mouse.move(to.x, to.y, { steps: 6 })
  await page.mouse.up()
}

async function canvasPoint(page: Page, x: number, y: number) {
  const box = await page.locator('svg.canvas').boundingBox()
  if (!box) throw new Error('no canvas')
  return { x: box.x + x, y: box.y + y }
}

/** Whether every component is inside the canvas's visible box. */
const allInView = (page: Page) =>
  page.locator('.canvas-wrap').evaluate((el) => {
    const box = el.getBoundingClientRect()
    return [...el.querySelectorAll('g.node')].every((g) => {
      const r = g.getBoundingClientRect()
      return r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom
    })
  })

const node = (page: Page, id: string) => page.locator(`g.node[data-id="${id}"]`)
const saved = (page: Page, which = 'design') => page.locator(`[data-save="${which}"]`).filter({ hasText: ': saved' })

function clean(t: Test, watched: Watched, what: string) {
  t.same(watched.problems, [], `${what}: no console error, CSP violation or page error`)
}

t.test('a learner signs up, sketches, autosaves, resolves a conflict, simulates, grades and exports', async (t) => {
  // Built now, so the app under test is the one in web/src (the api builds only a missing one).
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const env = { DATABASE_URL: url }
  const api = await startApi(env, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const worker = await startWorker(env)
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
  const page = await context.newPage()
  const watched = watch(page)

  // The page and its assets carry the app's own CSP; the JSON API keeps its own.
  const index = await page.goto(`${base}/`)
  t.match(index?.headers()['content-security-policy'], /default-src 'self'.*frame-ancestors 'none'/)
  t.equal(index?.headers()['cache-control'], 'no-cache')
  const json = await call(api.port, { path: '/health/live' })
  t.equal(
    json.headers?.['content-security-policy'],
    "default-src 'none'; frame-ancestors 'none'",
    'the API keeps its own'
  )
  await page.getByRole('heading', { name: 'System Design Coach' }).waitFor()
  await shot(page, '01-sign-in')

  // The verification email's link lands on the app; a stale or forged one says so.
  watched.expectStatuses.add(400)
  await page.goto(`${base}/verify-email?token=${'x'.repeat(40)}`)
  await page.getByText('This link is invalid or has expired').waitFor()
  watched.expectStatuses.delete(400)
  await page.goto(`${base}/`)

  // Sign up (and in).
  const email = `learner-${Date.now()}@example.com`
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Your name').fill('Ada Learner')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).last().click()
  await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
  t.notOk(
    await page
      .evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage))
      .then((s) => s.includes('ey')),
    'no token in web storage'
  )
  const cookies = await context.cookies()
  const refresh = cookies.find((c) => c.name === '__Secure-sdc_refresh')
  t.match(
    refresh,
    { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' },
    'the refresh token is an HttpOnly cookie'
  )
  t.notOk(await page.evaluate("document.cookie.includes('sdc_refresh')"), 'the script cannot read it')
  t.match(
    cookies.find((c) => c.name === '__Host-sdc_device'),
    { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' },
    'this browser is a known device from now on'
  )

  // Create a workspace: the editor opens with a client on the canvas.
  await page.getByRole('textbox', { name: 'New workspace' }).fill('Photo sharing')
  await page.getByRole('button', { name: 'Create' }).click()
  await node(page, 'users').waitFor()
  const workspaceId = /#\/w\/(.+)$/.exec(page.url())?.[1] as string
  t.match(workspaceId, /^[0-9a-f-]{36}$/)

  // Place a load balancer, a service and a database from the palette, and drag them into place.
  for (const [label, id, x, y] of [
    ['Load balancer', 'load-balancer', 260, 60],
    ['Service', 'service', 480, 60],
    ['Database', 'database', 480, 190]
  ] as const) {
    await page.getByRole('button', { name: `Add ${label}` }).click()
    await node(page, id).waitFor()
    await dragTo(page, node(page, id).locator('rect.node-box'), await canvasPoint(page, x + NODE_W / 2, y + NODE_H / 2))
  }
  // Link them by dragging from each one's handle to the next.
  for (const [from, to] of [
    ['users', 'load-balancer'],
    ['load-balancer', 'service'],
    ['service', 'database']
  ]) {
    await dragTo(page, node(page, from).locator('circle.port'), await center(node(page, to).locator('rect.node-box')))
    await page.locator(`g.link[data-link="${from}->${to}"]`).waitFor({ state: 'attached' })
  }
  await saved(page).waitFor()

  // Reload: it is all still there, where it was put.
  await page.reload()
  await node(page, 'database').waitFor()
  t.equal(await page.locator('g.node').count(), 4, 'four components after a reload')
  t.equal(await page.locator('g.link').count(), 3, 'three links after a reload')
  t.match(await node(page, 'service').getAttribute('transform'), /translate\(480 60\)/, 'the position was stored')

  // Zoomed out the canvas is drawn smaller, and a drag still puts a component under the pointer.
  const canvas = page.locator('svg.canvas')
  const widthOf = async (locator: Locator) => (await locator.boundingBox())?.width ?? 0
  const actualWidth = await widthOf(canvas)
  await page.getByRole('button', { name: 'Zoom out' }).click()
  t.equal(await page.getByRole('button', { name: 'Actual size' }).textContent(), '80%')
  t.ok(Math.abs((await widthOf(canvas)) - actualWidth * 0.8) <= 1, 'drawn at 80 %')
  await dragTo(
    page,
    node(page, 'database').locator('rect.node-box'),
    await canvasPoint(page, (480 + NODE_W / 2) * 0.8, (230 + NODE_H / 2) * 0.8)
  )
  await saved(page).waitFor()
  const [x, y] = ((await node(page, 'database').getAttribute('transform')) ?? '').match(/[\d.]+/g)?.map(Number) ?? []
  t.ok(Math.abs(x - 480) <= 2 && Math.abs(y - 230) <= 2, `moved to the design's (480, 230) at 80 %: (${x}, ${y})`)
  // At double size the design runs out of view; Fit shows all of it; then back to actual size.
  const zoomIn = page.getByRole('button', { name: 'Zoom in' })
  while (await zoomIn.isEnabled()) await zoomIn.click()
  t.equal(await page.getByRole('button', { name: 'Actual size' }).textContent(), '200%')
  t.notOk(await allInView(page), 'at 200 % some component is out of view')
  await page.getByRole('button', { name: 'Fit' }).click()
  t.ok(await allInView(page), 'after Fit every component is in view')
  await page.getByRole('button', { name: 'Actual size' }).click()
  t.equal(await widthOf(canvas), actualWidth, 'back to actual size')
  // The same from the keyboard, while the focus is on the canvas or its tools (here, a tool).
  const zoomShown = () => page.getByRole('button', { name: 'Actual size' }).textContent()
  await page.keyboard.press('+')
  t.equal(await zoomShown(), '125%', '+ zooms in')
  await page.keyboard.press('-')
  t.equal(await zoomShown(), '100%', '- zooms out')
  for (let i = 0; i < 4; i++) await page.keyboard.press('=')
  t.notOk(await allInView(page), '= zooms in too: some component is out of view')
  await page.keyboard.press('f')
  t.ok(await allInView(page), 'F fits the design')
  await page.keyboard.press('0')
  t.equal(await widthOf(canvas), actualWidth, '0 is actual size')
  clean(t, watched, 'sketching')

  // The same workspace in a second page: change it there … (this page hears of it only when it
  // saves: its version poll is held back, so the merge on a 409 is what is tested here).
  await page.route('**/versions', (route) => route.abort())
  watched.allow.push(/net::ERR_FAILED/)
  const other = await context.newPage()
  const otherWatched = watch(other)
  await other.goto(`${base}/#/w/${workspaceId}`)
  await node(other, 'service').click()
  await other.locator('input[name="instances"]').fill('5')
  await other.locator('input[name="instances"]').press('Tab')
  await saved(other).waitFor()
  // … then edit another field here: both changes are merged, nothing asked, nothing lost.
  watched.expectStatuses.add(409)
  await node(page, 'service').click()
  await page.locator('input[name="concurrency"]').fill('12')
  await page.locator('input[name="concurrency"]').press('Tab')
  await page.locator('[data-merged]').waitFor()
  await shot(page, '02-merged')
  await saved(page).waitFor()
  await node(page, 'service').click()
  t.equal(await page.locator('input[name="instances"]').inputValue(), '5', 'their change is merged in')
  t.equal(await page.locator('input[name="concurrency"]').inputValue(), '12', 'and ours is kept')
  // The same field changed on both sides is asked about; keeping ours, the other page sees it.
  otherWatched.allow.push(/net::ERR_FAILED/)
  await other.route('**/versions', (route) => route.abort())
  await other.reload()
  await node(other, 'service').click()
  await other.locator('input[name="instances"]').fill('6')
  await other.locator('input[name="instances"]').press('Tab')
  await saved(other).waitFor()
  await page.locator('input[name="instances"]').fill('7')
  await page.locator('input[name="instances"]').press('Tab')
  await page.getByRole('alertdialog').waitFor()
  await shot(page, '02-conflict')
  t.match(await page.getByRole('alertdialog').textContent(), /service’s instances: yours 7, theirs 6/)
  await page.getByRole('button', { name: 'Keep mine' }).click()
  await saved(page).waitFor()
  await other.reload()
  await node(other, 'service').click()
  t.equal(await other.locator('input[name="instances"]').inputValue(), '7', 'ours kept, as chosen')
  t.equal(await other.locator('input[name="concurrency"]').inputValue(), '12', 'and the merged change with it')
  await page.unroute('**/versions')
  clean(t, otherWatched, 'the second page')
  await other.close()

  // A 422 is shown beside the field it names, not as a toast; fixing it saves.
  watched.expectStatuses.add(422)
  await page.locator('input[name="serviceTimeMs"]').fill('70000')
  await page.locator('input[name="serviceTimeMs"]').press('Tab')
  await page.locator('#err-serviceTimeMs').waitFor()
  t.match(await page.locator('#err-serviceTimeMs').textContent(), /must be from 0.01 to 60000 ms/)
  t.equal(await page.locator('input[name="serviceTimeMs"]').getAttribute('aria-invalid'), 'true')
  t.ok(await node(page, 'service').evaluate((el) => el.classList.contains('has-problem')), 'the component is marked')
  await page.locator('input[name="serviceTimeMs"]').fill('40')
  await page.locator('input[name="serviceTimeMs"]').press('Tab')
  await saved(page).waitFor()

  // An instance's availability and cost, and the zones it spreads over: saved, and still there
  // after a reload; emptied, each is its type's default again.
  const stored = page.waitForResponse(
    (r) => r.request().method() === 'PATCH' && (r.request().postData() ?? '').includes('eu-2') && r.status() === 200
  )
  for (const [name, value] of [
    ['availability', '0.9995'],
    ['costPerMonth', '90'],
    ['zones', 'eu-1, eu-2']
  ]) {
    await page.locator(`input[name="${name}"]`).fill(value)
    await page.locator(`input[name="${name}"]`).press('Tab')
  }
  await saved(page).waitFor()
  t.match(
    (await (await stored).json()).design.components.find((c: { id: string }) => c.id === 'service'),
    { availability: 0.9995, costPerMonth: 90, zones: ['eu-1', 'eu-2'] },
    'the api takes and returns them'
  )
  t.equal(await page.locator('input[name="costPerMonth"]').getAttribute('placeholder'), '70', 'the type’s default')
  await shot(page, '08-component')
  await page.reload()
  await node(page, 'service').click()
  t.same(
    await Promise.all(
      ['availability', 'costPerMonth', 'zones'].map((n) => page.locator(`input[name="${n}"]`).inputValue())
    ),
    ['0.9995', '90', 'eu-1, eu-2'],
    'after a reload'
  )
  for (const name of ['availability', 'costPerMonth', 'zones']) {
    await page.locator(`input[name="${name}"]`).fill('')
    await page.locator(`input[name="${name}"]`).press('Tab')
  }
  await saved(page).waitFor()

  // What is being typed survives the renders around it (a save finishing, a preview arriving):
  // a field keeps its draft until it is committed.
  const patched = page.waitForResponse((r) => r.request().method() === 'PATCH' && /\/workspaces\/[^/]+$/.test(r.url()))
  const previewed = page.waitForResponse((r) => r.url().endsWith('/preview'))
  await page.locator('input[name="instances"]').fill('4')
  await page.locator('input[name="instances"]').press('Tab')
  await page.locator('input[name="concurrency"]').fill('20')
  t.equal((await patched).status(), 200)
  await saved(page).waitFor()
  t.equal((await previewed).status(), 200)
  await page.locator('[data-preview]').filter({ hasText: '$720/mo' }).waitFor()
  t.equal(await page.locator('input[name="concurrency"]').inputValue(), '20', 'the typed value is still there')
  await page.locator('input[name="concurrency"]').press('Tab')
  await saved(page).waitFor()

  // The keyboard alone: a palette button, a component moved with the arrow keys, a link removed
  // with Delete and put back from the side panel.
  await page.getByRole('button', { name: 'Add Cache' }).focus()
  await page.keyboard.press('Enter')
  await node(page, 'cache').waitFor()
  const canvasBox = await page.locator('.canvas-wrap').boundingBox()
  const cacheBox = await node(page, 'cache').locator('rect.node-box').boundingBox()
  t.ok(
    canvasBox &&
      cacheBox &&
      cacheBox.x >= canvasBox.x &&
      cacheBox.x + cacheBox.width <= canvasBox.x + canvasBox.width &&
      cacheBox.y + cacheBox.height <= canvasBox.y + canvasBox.height,
    'a new component appears where the learner sees it'
  )
  const others = await page
    .locator('g.node:not([data-id="cache"]) rect.node-box')
    .evaluateAll((rects) =>
      rects.map((r) => r.getBoundingClientRect().toJSON() as { x: number; y: number; width: number; height: number })
    )
  t.notOk(
    others.some(
      (o) =>
        cacheBox &&
        o.x < cacheBox.x + cacheBox.width &&
        cacheBox.x < o.x + o.width &&
        o.y < cacheBox.y + cacheBox.height &&
        cacheBox.y < o.y + o.height
    ),
    'and on no other'
  )
  await node(page, 'cache').focus()
  const before = await node(page, 'cache').getAttribute('transform')
  await page.keyboard.press('Shift+ArrowDown')
  await page.keyboard.press('Shift+ArrowRight')
  const moved = /translate\((\d+) (\d+)\)/.exec((await node(page, 'cache').getAttribute('transform')) ?? '')
  const was = /translate\((\d+) (\d+)\)/.exec(before ?? '')
  t.same(
    [Number(moved?.[1]) - Number(was?.[1]), Number(moved?.[2]) - Number(was?.[2])],
    [10, 10],
    'Shift+arrows move it'
  )
  await page.keyboard.press('Delete')
  await node(page, 'cache').waitFor({ state: 'detached' })
  await page.locator('g.link[data-link="service->database"] line.link-hit').click({ force: true })
  t.equal(await page.getByRole('form', { name: 'Link service to database' }).count(), 1, 'the link is selected')
  await page.keyboard.press('Delete')
  await page.locator('g.link[data-link="service->database"]').waitFor({ state: 'detached' })
  await node(page, 'service').focus()
  await page.keyboard.press('Enter')
  await page.getByLabel('Link to').selectOption('database')
  await page.getByRole('button', { name: 'Add link' }).click()
  await page.locator('g.link[data-link="service->database"]').waitFor({ state: 'attached' })
  await saved(page).waitFor()

  // Offline: the badge says so and the edit is saved once the network is back.
  watched.allow.push(/ERR_INTERNET_DISCONNECTED/)
  await context.setOffline(true)
  await node(page, 'database').focus()
  await page.keyboard.press('Shift+ArrowDown')
  await page.locator('[data-save="design"]').filter({ hasText: 'offline, retrying' }).waitFor()
  await context.setOffline(false)
  await saved(page).waitFor({ timeout: 15_000 })

  // Each saved change is previewed at once (analytic, no job).
  await page.locator('[data-preview]').waitFor()
  t.match(await page.locator('[data-preview]').textContent(), /^≈ p95 [\d.]+ ms · busiest \d+% · \$[\d.]+\/mo$/)

  // Traffic profile.
  await page.getByRole('tab', { name: 'Traffic' }).click()
  await page.locator('input[name="peakRps"]').fill('300')
  await page.locator('input[name="peakRps"]').press('Tab')
  await saved(page, 'traffic').waitFor()
  // The availability the grade holds the design to: optional, 99.95 % here.
  const profileSaved = page.waitForResponse(
    (r) => r.request().method() === 'PATCH' && r.url().endsWith('/traffic-profile') && r.status() === 200
  )
  await page.locator('input[name="availabilityTarget"]').fill('0.9995')
  await page.locator('input[name="availabilityTarget"]').press('Tab')
  t.equal((await (await profileSaved).json()).availabilityTarget, 0.9995, 'the availability target is saved')
  await saved(page, 'traffic').waitFor()
  await shot(page, '07-traffic')

  // Simulate: the result is drawn on the canvas and matches GET /simulations/:id.
  await page.getByRole('button', { name: 'Simulate' }).click()
  const results = page.locator('section.results')
  await results.waitFor({ timeout: 60_000 })
  const runId = (await results.getAttribute('data-run')) as string
  const login = JSON.parse(
    (await call(api.port, { method: 'POST', path: '/auth/login', body: { email, password: PASSWORD } })).body ?? '{}'
  )
  const run = JSON.parse(
    (await call(api.port, { path: `/simulations/${runId}`, headers: { authorization: `Bearer ${login.accessToken}` } }))
      .body ?? '{}'
  )
  t.equal(run.status, 'completed')
  const p95 = page.locator('[data-figure="p95"]')
  t.equal(Number(await p95.getAttribute('data-value')), run.result.overall.p95, 'p95 as the API says')
  t.equal(
    await p95.textContent(),
    `${Number(run.result.overall.p95.toFixed(run.result.overall.p95 >= 100 ? 0 : 1))} ms`
  )
  t.equal(await page.locator('[data-figure="bottleneck"]').textContent(), run.result.overall.bottleneck)
  t.match(
    await results.locator('h2').textContent(),
    run.result.overall.percentiles === 'exact'
      ? /percentiles exact/
      : /percentiles estimated from the sampled requests/,
    `the heading says how the percentiles were obtained (${run.result.overall.percentiles})`
  )
  const bottleneck = run.result.overall.bottleneck as string
  t.ok(await node(page, bottleneck).evaluate((el) => el.classList.contains('bottleneck')), `${bottleneck} is outlined`)
  const service = run.result.components.find((c: { id: string }) => c.id === 'service')
  t.match(
    await node(page, 'service').locator('.node-detail').textContent(),
    `ρ ${Math.round(service.utilization * 100)}%`,
    'utilisation as a number too'
  )
  t.match(
    await page.locator('[data-figure="availability"]').textContent(),
    `Availability ${availabilityPct(run.result.analysis.availability.fraction)} (${run.result.analysis.availability.nines} nines`,
    'the analysis is shown as the API has it'
  )
  const breaks = (run.result.analysis.breaksFirst as { component: string; utilization: number; rps: number }[]).slice(
    0,
    4
  )
  t.same(
    await page.locator('ol.breaks li').allTextContents(),
    breaks.map((b) => `${b.component} reaches ${Math.round(b.utilization * 100)}% at ${rps(b.rps)}`),
    'what breaks first, at rates as people read them'
  )
  await shot(page, '03-results')

  // Grade: items with points; selecting one highlights its component.
  await page.getByRole('button', { name: 'Grade' }).click()
  await page.locator('.score').waitFor({ timeout: 60_000 })
  const items = page.locator('.rubric-item')
  t.ok((await items.count()) >= 5, 'the rubric items are listed')
  t.equal(
    await page.locator('.grade .hint').textContent(),
    `Scored by rubric version ${RUBRIC_VERSION}.`,
    'the grade names its rubric'
  )
  await page.getByRole('button', { name: /Capacity headroom/ }).click()
  t.ok((await page.locator('g.node.highlight').count()) >= 1, 'the item’s components are highlighted')
  await shot(page, '04-grade')

  // Runs: a second run, then the two compared side by side.
  await page.getByRole('button', { name: 'Simulate' }).click()
  await page.locator(`section.results:not([data-run="${runId}"])`).waitFor({ timeout: 60_000 })
  await page.getByRole('tab', { name: 'Runs' }).click()
  const boxes = page.getByRole('checkbox')
  await boxes.nth(1).waitFor()
  await boxes.nth(0).check()
  await boxes.nth(1).check()
  const compared = page.getByRole('table', { name: 'Two runs compared' })
  await compared.waitFor()
  t.match(await compared.textContent(), /Grade.*not graded/, 'the compare table shows grades')

  // Exports: a download, and the HTML report in a tab of its own (under its own CSP).
  await page.getByText('Export', { exact: true }).click()
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download Markdown' }).click()
  ])
  const markdown = await readFile((await download.path()) as string, 'utf8')
  t.match(markdown, /Photo sharing/, 'the Markdown report downloads')
  t.equal(await page.getByRole('button', { name: 'Download Markdown' }).isVisible(), false, 'the menu closes')
  await page.getByText('Export', { exact: true }).click()
  const [tab] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('button', { name: 'Open HTML report in a new tab' }).click()
  ])
  await tab.waitForURL(/\/exports\/.+\/download\?ticket=.+&disposition=inline/)
  await tab.waitForLoadState()
  t.match(await tab.content(), /Photo sharing/, 'the HTML report opens in a new tab')
  await tab.close()
  clean(t, watched, 'the whole journey')

  // Read-only on a phone: the canvas and results are there and nothing overflows the page.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  await phone.addCookies(await context.cookies())
  const small = await phone.newPage()
  const smallWatched = watch(small)
  await small.goto(`${base}/#/w/${workspaceId}`)
  await node(small, 'database').waitFor()
  t.ok(await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no sideways scrolling')
  // The canvas is wider than a phone; Fit stops at a legible scale and the rest is a scroll away.
  t.notOk(await allInView(small), 'some component is out of view on a phone')
  await small.getByRole('button', { name: 'Fit' }).click()
  const zoomed = Number((await small.getByRole('button', { name: /^Zoom \d+%/ }).textContent())?.replace('%', ''))
  t.ok(zoomed >= 70, `Fit stops at a legible ${zoomed} %`)
  t.ok(
    await small
      .locator('.canvas-wrap')
      .evaluate((el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight),
    'the rest of the design is a scroll away'
  )
  // The side panel (results, grade) is a sheet over the canvas, not screens below it.
  t.ok(
    await small
      .locator('aside.side')
      .evaluate(
        (el) => el.getBoundingClientRect().top < (globalThis as unknown as { innerHeight: number }).innerHeight
      ),
    'the results sheet is on the screen'
  )
  await shot(small, '05-phone')
  clean(t, smallWatched, 'the phone')
  await phone.close()

  // The list: rename and describe, then delete after confirming.
  await page.getByRole('link', { name: '← Workspaces' }).click()
  await page.getByRole('button', { name: 'Rename or describe Photo sharing' }).click()
  await page.getByRole('textbox', { name: 'Name' }).fill('Photo sharing v2')
  await page.getByRole('textbox', { name: 'Description' }).fill('Uploads, feeds and thumbnails')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Uploads, feeds and thumbnails').waitFor()
  await page.getByRole('textbox', { name: 'New workspace' }).fill('Scratch')
  await page.getByRole('button', { name: 'Create' }).click()
  await node(page, 'users').waitFor()
  await page.getByRole('link', { name: '← Workspaces' }).click()
  await page.locator('.ws-open').nth(1).waitFor()
  t.same(await page.locator('.ws-open').allTextContents(), ['Scratch', 'Photo sharing v2'], 'newest first')
  page.once('dialog', (dialog) => void dialog.accept())
  await page.getByRole('button', { name: 'Delete Scratch' }).click()
  await page.locator('.ws-open', { hasText: 'Scratch' }).waitFor({ state: 'detached' })
  t.same(await page.locator('.ws-open').allTextContents(), ['Photo sharing v2'])
  await shot(page, '06-workspaces')

  // The session ends elsewhere (sign out everywhere): the next call says so instead of failing.
  watched.expectStatuses.add(401)
  await call(api.port, {
    method: 'POST',
    path: '/auth/logout-all',
    headers: { authorization: `Bearer ${login.accessToken}` },
    body: {}
  })
  await page.locator('.ws-open').first().click()
  await page.getByText('You were signed out because your session ended').waitFor()
  t.ok(await page.getByRole('tab', { name: 'Sign in' }).isVisible(), 'back at sign-in')
  t.notOk(
    (await context.cookies()).some((c) => c.name === '__Secure-sdc_refresh'),
    'the refresh cookie is gone'
  )
  clean(t, watched, 'the end of the session')

  // Someone fails logins for this account from everywhere (issue 32): a browser the service does
  // not know is sent a one-time sign-in link, and the link signs it in.
  const db = checkSql(url)
  t.teardown(() => db.end({ timeout: 1 }))
  await db`
    insert into app.login_lockouts (email_normalized, client_key, failed_count, window_started_at, updated_at)
    values (${email.toLowerCase()}, '*', 20, now(), now())
  `
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const fresh = await stranger.newPage()
  const freshWatched = watch(fresh)
  freshWatched.expectStatuses.add(401)
  await fresh.goto(`${base}/`)
  await fresh.getByLabel('Email').fill(email)
  await fresh.getByLabel('Password').fill(PASSWORD)
  await fresh.getByRole('button', { name: 'Sign in' }).last().click()
  await fresh.getByText('we emailed you a sign-in link').waitFor()
  await shot(fresh, '07-sign-in-link-sent')
  const [mail] = await waitFor(
    async () => {
      const rows =
        await db`select body from app.email_outbox where to_address = ${email} and body like '%sign-in-link%'`
      return rows.length ? rows : null
    },
    { what: 'the sign-in link mail' }
  )
  const token = /#\/sign-in-link\/([\w-]+)/.exec(mail.body)?.[1] as string
  await fresh.goto(`${base}/#/sign-in-link/${token}`)
  await fresh.getByRole('button', { name: 'Finish signing in' }).waitFor()
  await shot(fresh, '08-sign-in-link')
  await fresh.getByRole('button', { name: 'Finish signing in' }).click()
  await fresh.getByRole('heading', { name: 'Your workspaces' }).waitFor()
  t.notMatch(fresh.url(), token, 'the spent token left the address bar')
  t.ok(
    (await stranger.cookies()).some((c) => c.name === '__Host-sdc_device'),
    'and that browser is known now'
  )
  clean(t, freshWatched, 'the sign-in link')
  await stranger.close()
})
