// A newcomer's first exercise in a real browser (Debian's Chromium), against the real api and worker
// processes: land on the exercises, start the first, fail a check, take a hint, pass every check,
// submit, and see the reference solution on the canvas.
import type { Locator, Page } from 'playwright-core'
import t from 'tap'
import { NODE_H, NODE_W } from '../../src/domain/layout.ts'
import { exercises } from '../../src/exercises/index.ts'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { launch, shot, watch } from './browser.ts'

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

const node = (page: Page, id: string) => page.locator(`g.node[data-id="${id}"]`)

/** Adds a `type` from the palette, places it at `x` on the canvas and links `from` to it. */
async function addBehind(page: Page, type: string, id: string, from: string, x: number) {
  await page.getByRole('button', { name: `Add ${type}` }).click()
  await node(page, id).waitFor()
  const canvas = await page.locator('svg.canvas').boundingBox()
  if (!canvas) throw new Error('no canvas')
  await dragTo(page, node(page, id).locator('rect.node-box'), {
    x: canvas.x + x + NODE_W / 2,
    y: canvas.y + 220 + NODE_H / 2
  })
  await dragTo(page, node(page, from).locator('circle.port'), await center(node(page, id).locator('rect.node-box')))
  await page.locator(`g.link[data-link="${from}->${id}"]`).waitFor({ state: 'attached' })
}
const check = (page: Page, id: string) => page.locator(`tr[data-check="${id}"]`)

t.test('a newcomer completes the first exercise in the browser', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const env = { DATABASE_URL: url }
  const api = await startApi(env, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const worker = await startWorker(env)
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`
  const first = exercises().list[0]

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  const watched = watch(page)

  // The landing: the exercises, before any account.
  await page.goto(`${base}/`)
  await page.getByRole('heading', { name: 'Exercises' }).waitFor()
  const card = page.locator(`[data-exercise="${first.slug}"]`)
  await card.waitFor()
  t.match(await card.textContent(), new RegExp(`p95 ≤ ${first.requirements.p95Ms} ms`), 'a card shows its requirements')
  t.ok((await page.locator('.exercise-card').count()) >= 12, 'every exercise has its card')
  await shot(page, 'exercises-01-landing')

  // Start asks for an account, then opens the attempt.
  await page.getByRole('button', { name: `Start ${first.title}` }).click()
  await page.getByText(`to start “${first.order}. ${first.title}”`).waitFor()
  await page.getByLabel('Your name').fill('Newcomer')
  await page.getByLabel('Email').fill(`newcomer-${Date.now()}@example.com`)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).last().click()
  await page.locator('.exercise-panel').waitFor()
  await page.getByRole('heading', { name: first.title, exact: true }).last().waitFor()
  t.match(page.url(), /#\/w\/[0-9a-f-]{36}$/, 'the attempt opened in the editor')
  t.equal(await check(page, 'p95_at_peak').locator('td').textContent(), '—', 'nothing measured before a run')

  // One service of one instance behind the users: a run fails the failure drill.
  await addBehind(page, 'Service', 'service', 'users', 320)
  await node(page, 'service').locator('rect.node-box').click()
  await page.locator('input[name="instances"]').fill('1')
  await page.locator('input[name="instances"]').press('Tab')
  await page.locator('[data-save="design"]').filter({ hasText: ': saved' }).waitFor()
  await page.getByRole('button', { name: 'Simulate' }).click()
  await check(page, 'drill_instance').and(page.locator('.check-fail')).waitFor({ timeout: 60_000 })
  t.match(await check(page, 'drill_instance').textContent(), /failed/, 'the drill is red')
  t.match(await check(page, 'p95_at_peak').textContent(), /passed: [\d.]+ ms/, 'the p95 is measured, green')
  t.match(await page.locator('.checks-summary').textContent(), /of \d+ checks pass/)
  await shot(page, 'exercises-02-a-check-fails')

  // A hint, with its cost.
  const hint = page.getByRole('button', { name: `Hint (−${first.hints[0].cost} points)` })
  await hint.click()
  await page.getByText(first.hints[0].text).waitFor()
  await page.getByRole('button', { name: `Hint (−${first.hints[1].cost} points)` }).waitFor()
  await shot(page, 'exercises-03-a-hint')

  // Two instances: the instance drill passes; with no database the database drill does not
  // apply, says why, and does not pass (it once passed as "not applicable").
  await node(page, 'service').locator('rect.node-box').click()
  await page.locator('input[name="instances"]').fill('2')
  await page.locator('input[name="instances"]').press('Tab')
  await page.locator('[data-save="design"]').filter({ hasText: ': saved' }).waitFor()
  await page.getByRole('button', { name: 'Simulate' }).click()
  await check(page, 'drill_instance').and(page.locator('.check-pass')).waitFor({ timeout: 60_000 })
  const noDatabase = check(page, 'drill_database_primary')
  t.match(await noDatabase.getAttribute('class'), /check-fail/)
  t.match(await noDatabase.textContent(), /not passed: does not apply/)
  t.match(await noDatabase.locator('.check-detail').textContent(), /the design has no database on a request’s path/)
  await shot(page, 'exercises-03b-no-database')

  // A database behind the service (one read replica by default): every check passes.
  await addBehind(page, 'Database', 'database', 'service', 580)
  await page.locator('[data-save="design"]').filter({ hasText: ': saved' }).waitFor()
  await page.getByRole('button', { name: 'Simulate' }).click()
  await page
    .locator('.checks-summary')
    .filter({ hasText: /^(\d+) of \1 checks pass/ })
    .waitFor({ timeout: 60_000 })
  t.equal(await page.locator('tr.check-fail').count(), 0, 'no red check')
  await shot(page, 'exercises-04-every-check-passes')

  // Submit: graded, the hint's points taken off; then the reference is on the canvas, read-only.
  t.equal(await page.getByRole('button', { name: 'Show the reference' }).count(), 0, 'no reference before a grade')
  await page.getByRole('button', { name: 'Submit' }).click()
  const submitted = page.locator('.submitted').filter({ hasText: /score \d+\/100/ })
  await submitted.waitFor({ timeout: 60_000 })
  t.match(
    await submitted.textContent(),
    new RegExp(`(\\d+) of \\1 checks pass; score \\d+/100 \\(${first.hints[0].cost} points off for hints\\)`)
  )
  await page.getByRole('button', { name: 'Show the reference' }).click()
  for (const c of first.reference.design.components) await node(page, c.id).waitFor()
  t.equal(await node(page, 'service').count(), 0, 'the canvas draws the reference, not the attempt')
  await page.getByText(first.reference.explanation.slice(0, 40), { exact: false }).waitFor()
  await shot(page, 'exercises-05-the-reference')
  await page.getByRole('button', { name: 'Back to my design' }).click()
  await node(page, 'service').waitFor()
  t.same(watched.problems, [], 'no console error, CSP violation or page error')
})
