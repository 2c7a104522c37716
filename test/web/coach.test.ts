// The coach in a real browser (issue 38): a learner predicts, simulates, reads how a figure was
// computed, grades, applies a verified suggestion as one undoable step and sees its effect.
import t, { type Test } from 'tap'
import { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { launch, shot, type Watched, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'

function clean(t: Test, watched: Watched, what: string) {
  t.same(watched.problems, [], `${what}: no console error, CSP violation or page error`)
  watched.problems.length = 0
}

t.test('a learner predicts, simulates, reads a derivation, applies a suggestion and sees its effect', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  // Writes past the row-level security (the app's role changes no workspace without a user's context).
  const root = testSql(t, superuserUrl(url))
  const api = await startApi({ DATABASE_URL: url }, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const worker = await startWorker({ DATABASE_URL: url }, ['--queues', 'simulation,grading'])
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const watched = watch(page)

  await page.goto(`${base}/`)
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Your name').fill('Ada Learner')
  await page.getByLabel('Email').fill(`coach-${Date.now()}@example.com`)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).last().click()
  await page.getByRole('textbox', { name: 'New workspace' }).fill('Coached')
  await page.getByRole('button', { name: 'Create' }).click()
  await page.locator('g.node[data-id="users"]').waitFor()
  const id = /#\/w\/(.+)$/.exec(page.url())?.[1] as string

  // The sample three-tier design at a peak its api cannot carry (as if sketched and set by hand).
  const design = {
    ...SAMPLE_DESIGN,
    components: SAMPLE_DESIGN.components.map((c, i) => ({ ...c, x: 40 + 200 * i, y: 80 + (i % 2) * 120 }))
  }
  await root`update app.workspaces set design = ${root.json(design as never)}, version = version + 1 where id = ${id}`
  await sql`update app.traffic_profiles set peak_rps = 1500, read_ratio = 0.9, latency_slo_ms = 200, version = version + 1 where workspace_id = ${id}`
  await page.reload()
  await page.locator('g.node[data-id="db"]').waitFor()

  // Predict (optional), then simulate: the result scores each prediction.
  await page.getByRole('tab', { name: 'Results' }).click()
  await page.getByText('Predict before you simulate').click()
  await page.getByLabel('p95 at peak (ms)').fill('100')
  await page.getByLabel('Bottleneck').selectOption('api')
  await page.getByLabel('Max sustainable (rps)').fill('1250')
  await shot(page, 'coach-01-predict')
  await page.getByRole('button', { name: 'Simulate', exact: true }).click()
  const predictions = page.locator('section.predictions')
  await predictions.waitFor({ timeout: 60_000 })
  t.match(await predictions.textContent(), /✓ Bottleneck.*you said api, the model api/, 'the bottleneck was right')
  t.match(await predictions.textContent(), /Max sustainable.*you said 1250, the model 1200/, 'within 20 %: right')
  t.match(await page.locator('[data-prediction="maxSustainableRps"]').getAttribute('class'), /ok/)
  t.match(
    await page.locator('[data-prediction="p95Ms"]').getAttribute('class'),
    /bad/,
    'an unbounded p95 is not 100 ms'
  )
  await shot(page, 'coach-02-predictions-scored')

  // Select a number: its derivation.
  await page.locator('button[data-explain="db"]').click()
  const derivation = page.locator('section.derivation[data-derivation="db"]')
  await derivation.locator('tr[data-step="Pw"]').first().waitFor()
  t.match(await derivation.textContent(), /db:primary.*Erlang C/, 'the primary’s waiting probability by Erlang C')
  t.match(await derivation.textContent(), /misses of its 0\.8 hit ratio/, 'λ from the cache’s misses')
  await derivation.scrollIntoViewIfNeeded()
  await shot(page, 'coach-03-derivation')
  await page.locator('button[data-explain="overall"]').click()
  await page.locator('section.derivation[data-derivation="overall"] tr[data-ceiling="api"]').waitFor()
  t.match(
    await page.locator('section.derivation[data-derivation="overall"]').textContent(),
    /capacity ÷ visits.*api.*1200 rps ÷ 1.*= 1200 rps/
  )

  // Grade: the estimation score beside the total; a verified suggestion with its effect and Apply.
  await page.getByRole('button', { name: 'Grade' }).click()
  const score = page.locator('.grade .score[data-score]')
  await score.waitFor({ timeout: 60_000 })
  const before = Number(await score.getAttribute('data-score'))
  t.equal(
    await page.locator('.grade [data-estimation]').getAttribute('data-estimation'),
    '67',
    'estimation beside the total'
  )
  const apply = page.locator('[data-apply="zero_errors"]')
  await apply.waitFor()
  t.match(
    await apply.textContent(),
    /Next, tried by the model: .*this item 0 → 10 of 10/,
    'the effect, computed before it is shown'
  )
  const said = (await page.locator('li.rubric-item', { has: apply }).textContent()) ?? ''
  t.equal(said.split('this item').length - 1, 1, `its effect said once: ${said}`)
  t.notMatch(said, /\d{2,}\.\d{2,} ms/, 'rounded as every figure is (a tenth of a ms from 10 ms up)')
  await apply.scrollIntoViewIfNeeded()
  await shot(page, 'coach-04-grade-suggestion')
  /** What the api's box says: its figures while they are current, its type and instances otherwise. */
  const instances = async () => page.locator('g.node[data-id="api"]').textContent()
  const was = await instances()
  await apply.getByRole('button', { name: 'Apply' }).click()
  await page.getByText('Out of date — simulate again.').first().waitFor()
  t.not(await instances(), was, 'the design changed on the canvas')
  t.equal(await page.locator('g.node[data-bottleneck]').count(), 0, 'old figures no longer colour the canvas')
  await shot(page, 'coach-05-applied-out-of-date')

  // One undoable step: undo brings the run's design back, and the results are current again.
  await page.getByRole('button', { name: /^Undo/ }).click()
  await page.locator('.grade .stale').waitFor({ state: 'detached' })
  t.equal(await instances(), was, 'undo restores the design')
  await page.getByRole('button', { name: /^Redo/ }).click()
  await page.getByText('Out of date — simulate again.').first().waitFor()

  // Simulate the applied design: its grade rises as the effect said.
  await page.getByRole('button', { name: 'Simulate', exact: true }).click()
  await page.locator('.results .verdict', { hasText: '✓' }).waitFor({ timeout: 60_000 })
  await page.getByRole('button', { name: 'Grade' }).click()
  // The new grade replaces the old one: poll its score with a deadline.
  let after = before
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && after <= before; ) {
    await page.waitForTimeout(250)
    after = Number(await score.getAttribute('data-score', { timeout: 1000 }).catch(() => before))
  }
  t.ok(after > before, `the applied suggestion raised the grade: ${before} → ${after}`)
  await shot(page, 'coach-06-after')

  // Two runs compared: what changed in the design, beside the figures.
  await page.getByRole('tab', { name: 'Runs' }).click()
  const ticks = page.locator('ul.runs input[type="checkbox"]')
  await ticks.nth(1).waitFor()
  await ticks.nth(0).check()
  await ticks.nth(1).check()
  const diff = page.locator('.design-diff [data-diff="changed"]')
  await diff.first().waitFor()
  t.match(await diff.first().textContent(), /api: instances 3 → 6/, 'the design diff names the change')
  await shot(page, 'coach-07-runs-compared')

  // The progress page: the estimation score over time.
  await page.getByRole('link', { name: 'Progress' }).click()
  await page.getByRole('heading', { name: 'Your progress' }).waitFor()
  t.equal(await page.locator('li[data-estimation]').first().getAttribute('data-estimation'), '67')
  await shot(page, 'coach-08-progress')
  clean(t, watched, 'the coach')
})
