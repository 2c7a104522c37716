// Two tabs on one workspace, in a real browser (Debian's Chromium) against the real api: changes to
// different components both survive (the one saved second merges, one step to undo), an idle tab
// learns of the other's save by polling the versions, and the same field changed in both asks.
import type { Page } from 'playwright-core'
import t from 'tap'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { startApi, stopProcess } from '../helpers/stack.ts'
import { waitFor } from '../helpers/wait.ts'
import { launch, shot, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'

const DESIGN = {
  components: [
    { id: 'users', type: 'client', x: 40, y: 140 },
    { id: 'lb', type: 'load_balancer', instances: 2, concurrency: 500, serviceTimeMs: 0.5, x: 260, y: 140 },
    { id: 'service', type: 'service', instances: 8, concurrency: 8, serviceTimeMs: 10, x: 480, y: 60 },
    { id: 'cache', type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8, x: 700, y: 60 },
    { id: 'db', type: 'database', instances: 1, concurrency: 20, serviceTimeMs: 5, replicas: 1, x: 920, y: 140 }
  ],
  links: [
    { from: 'users', to: 'lb' },
    { from: 'lb', to: 'service' },
    { from: 'service', to: 'cache' },
    { from: 'cache', to: 'db' }
  ]
}

/** Sets a component's number field the way a learner does: select it, type, leave the field. */
async function setField(page: Page, id: string, field: string, value: string) {
  await page.locator(`g.node[data-id="${id}"]`).click()
  const input = page.locator(`form[aria-label="Component ${id}"] input[name="${field}"]`)
  await input.fill(value)
  await input.press('Tab')
}

const saved = (page: Page) => page.locator('[data-save="design"]', { hasText: 'saved' }).first().waitFor()
const fieldValue = (page: Page, id: string, field: string) =>
  page.locator(`form[aria-label="Component ${id}"] input[name="${field}"]`).inputValue()

t.test('two tabs on one design merge by component and field', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const api = await startApi({ DATABASE_URL: url, RATE_LIMIT_MAX_REQUESTS: '100000' }, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const base = `http://localhost:${api.port}`
  const email = `tabs-${Date.now()}@example.com`
  const json = { 'content-type': 'application/json' }
  await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password: PASSWORD, displayName: 'Two Tabs' })
  })
  const { accessToken } = (await (
    await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: PASSWORD })
    })
  ).json()) as { accessToken: string }
  const auth = { ...json, authorization: `Bearer ${accessToken}` }
  const created = (await (
    await fetch(`${base}/workspaces`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'Two tabs', design: DESIGN })
    })
  ).json()) as { id: string }
  const stored = async () =>
    (await (await fetch(`${base}/workspaces/${created.id}`, { headers: auth })).json()) as {
      version: number
      design: typeof DESIGN
    }
  const component = (design: typeof DESIGN, id: string) =>
    design.components.find((c) => c.id === id) as Record<string, unknown>

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const one = await context.newPage()
  const watchedOne = watch(one)
  await one.goto(`${base}/`)
  await one.getByLabel('Email').fill(email)
  await one.getByLabel('Password').fill(PASSWORD)
  await one.getByRole('button', { name: 'Sign in' }).last().click()
  await one.getByRole('heading', { name: 'Your workspaces' }).waitFor()
  await one.goto(`${base}/#/w/${created.id}`)
  const two = await context.newPage()
  const watchedTwo = watch(two)
  // The second tab's 409 is the point of the test.
  watchedTwo.expectStatuses.add(409)
  watchedOne.expectStatuses.add(409)
  // A loaded machine's api may answer 503 for a moment (the client retries): not this test's subject.
  for (const w of [watchedOne, watchedTwo]) w.expectStatuses.add(503)
  await two.goto(`${base}/#/w/${created.id}`)
  for (const page of [one, two]) await page.locator('g.node[data-id="service"]').waitFor()

  await t.test('different components: both changes are kept, and the other tab learns of them', async (t) => {
    // Tab two hears nothing of tab one until it saves (no poll): its save is refused and merged.
    await two.route('**/versions', (route) => route.abort())
    watchedTwo.allow.push(/net::ERR_FAILED/)
    await setField(one, 'service', 'instances', '7')
    await saved(one)
    await setField(two, 'cache', 'hitRatio', '0.9')
    await waitFor(async () => component((await stored()).design, 'cache').hitRatio === 0.9, {
      timeoutMs: 15_000,
      what: 'tab two’s change saved'
    })
    const design = (await stored()).design
    t.equal(component(design, 'service').instances, 7, 'tab one’s change to another component survives (8 → 7 kept)')
    t.equal(component(design, 'cache').hitRatio, 0.9, 'and tab two’s')
    await two.locator('[data-merged]').waitFor()
    await two.locator('g.node[data-id="service"]').click()
    t.equal(await fieldValue(two, 'service', 'instances'), '7', 'tab two shows tab one’s change')
    await shot(two, 'two-tabs-merged')
    // Tab one, idle, polls the versions and takes tab two's change in without a reload.
    await one.locator('[data-merged]').waitFor({ timeout: 15_000 })
    await one.locator('g.node[data-id="cache"]').click()
    t.equal(await fieldValue(one, 'cache', 'hitRatio'), '0.9', 'tab one learns of tab two’s change by polling')
    // The merge is one step to undo in tab two: its own change stays, tab one's goes.
    await two.getByRole('button', { name: 'Undo' }).click()
    await two.locator('g.node[data-id="service"]').click()
    t.equal(await fieldValue(two, 'service', 'instances'), '8', 'undo takes the merged change back out')
    await two.locator('g.node[data-id="cache"]').click()
    t.equal(await fieldValue(two, 'cache', 'hitRatio'), '0.9', 'and keeps tab two’s own')
    await two.getByRole('button', { name: 'Redo' }).click()
    await saved(two)
    await two.unroute('**/versions')
  })

  await t.test('the same field changed in both tabs: asked, and settled as chosen', async (t) => {
    await waitFor(async () => (await one.locator('[data-save="design"]').textContent())?.includes('saved') ?? false, {
      timeoutMs: 10_000,
      what: 'tab one settled'
    })
    // Both tabs at the same version, then neither hears of the other until it saves: the polls
    // are cut before the reloads (after them, a poll could slip in first on a slow machine).
    for (const page of [one, two]) await page.route('**/versions', (route) => route.abort())
    await one.reload()
    await two.reload()
    for (const page of [one, two]) await page.locator('g.node[data-id="service"]').waitFor()
    watchedOne.allow.push(/net::ERR_FAILED/)
    // Tab one's change is stored before tab two makes its own: its save is awaited as a response
    // (the status may still read "saved" from before the edit on a slow machine).
    const tabOneStored = one.waitForResponse((r) => r.request().method() === 'PATCH' && r.status() === 200)
    await setField(one, 'service', 'instances', '3')
    await tabOneStored
    await saved(one)
    await setField(two, 'service', 'instances', '5')
    const banner = two.getByRole('alertdialog')
    await banner.waitFor()
    t.match(await banner.textContent(), /service’s instances: yours 5, theirs 3/, 'names the field and both values')
    await shot(two, 'two-tabs-conflict')
    await banner.getByRole('button', { name: 'Take theirs' }).click()
    await waitFor(async () => (await stored()).design.components.length > 0 && !(await banner.isVisible()), {
      timeoutMs: 10_000,
      what: 'the banner gone'
    })
    await saved(two)
    t.equal(component((await stored()).design, 'service').instances, 3, 'theirs taken')
    t.equal(component((await stored()).design, 'cache').hitRatio, 0.9, 'the rest as it was')
  })

  t.same(watchedOne.problems, [], 'tab one: no console error or CSP violation')
  t.same(watchedTwo.problems, [], 'tab two: no console error or CSP violation')
})
