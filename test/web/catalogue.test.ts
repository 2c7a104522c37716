import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildWeb } from '../../web/build.ts'
import { buildTestApp } from '../helpers/app.ts'
import { WITH_SEARCH_INDEX } from '../helpers/catalogue.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { PASSWORD, uniqueEmail } from '../helpers/users.ts'
import { launch, shot, watch } from './browser.ts'

// A type more is one catalogue entry: given to the api and the web build, it is offered in the
// palette, placed with its defaults, saved and previewed — in a real browser, as a learner would.

t.test('a catalogue with a search index offers it in the palette, and the api saves and previews it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-catalogue-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const root = join(dir, 'dist')
  await buildWeb(root, { catalogue: WITH_SEARCH_INDEX })
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, {}, undefined, { catalogue: WITH_SEARCH_INDEX, webRoot: root })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  const browser = await launch(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const watched = watch(page)
  await page.goto(base.replace('127.0.0.1', 'localhost'))
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Your name').fill('Ada')
  await page.getByLabel('Email').fill(uniqueEmail('catalogue'))
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).last().click()
  await page.getByRole('textbox', { name: 'New workspace' }).fill('Search')
  await page.getByRole('button', { name: 'Create' }).click()
  await page.locator('g.node[data-id="users"]').waitFor()

  const offered = await page
    .locator('.palette-item')
    .evaluateAll((items) => items.map((i) => i.getAttribute('data-type')))
  t.same(offered, Object.keys(WITH_SEARCH_INDEX), 'the palette offers the catalogue’s types, in its order')
  await page.getByRole('button', { name: 'Add Search index' }).click()
  const node = page.locator('g.node[data-id="search-index"]')
  await node.waitFor()
  t.match(await node.locator('.node-detail').textContent(), 'Search index ×2', 'placed with its defaults')
  t.equal(await page.locator('input[name="concurrency"]').inputValue(), '16')
  t.equal(await page.locator('input[name="costPerMonth"]').getAttribute('placeholder'), '120')
  await page.locator('[data-save="design"]').filter({ hasText: ': saved' }).waitFor()
  await page.locator('[data-preview]').filter({ hasText: '$240/mo' }).waitFor()
  await shot(page, 'catalogue-search-index')
  t.same(watched.problems, [], 'no console error, CSP violation or page error')
})
