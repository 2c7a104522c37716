// Sharing in a real browser (Debian's Chromium) against the real api: the owner makes a read-only
// link; a second browser context without a session opens it (the design, nothing of the owner); a
// signed-in learner forks it; revoked, it stops working. And importing a design file: a malformed
// one is refused in a plain sentence, a valid one becomes a workspace.
import type { Page } from 'playwright-core'
import t from 'tap'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { startApi, stopProcess } from '../helpers/stack.ts'
import { launch, shot, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'
const DESIGN = {
  components: [
    { id: 'users', type: 'client', x: 40, y: 100 },
    { id: 'api', type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 10, x: 280, y: 100 },
    { id: 'db', type: 'database', instances: 1, concurrency: 20, serviceTimeMs: 5, replicas: 1, x: 520, y: 100 }
  ],
  links: [
    { from: 'users', to: 'api' },
    { from: 'api', to: 'db' }
  ]
}

async function signIn(page: Page, base: string, email: string) {
  await page.goto(`${base}/`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).last().click()
  await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
}

t.test('a read-only share link, forked by another learner, then revoked; importing a design', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  // Reads past the row-level security (the app's role sees no workspace without a user's context).
  const sql = testSql(t, superuserUrl(url))
  const api = await startApi({ DATABASE_URL: url, RATE_LIMIT_MAX_REQUESTS: '100000' }, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  const base = `http://localhost:${api.port}`
  const json = { 'content-type': 'application/json' }
  const register = async (email: string) => {
    await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: PASSWORD, displayName: 'Learner' })
    })
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: PASSWORD })
    })
    return ((await login.json()) as { accessToken: string }).accessToken
  }
  const ownerEmail = `owner-${Date.now()}@example.com`
  const forkerEmail = `forker-${Date.now()}@example.com`
  const token = await register(ownerEmail)
  await register(forkerEmail)
  const created = (await (
    await fetch(`${base}/workspaces`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Shared shop', design: DESIGN })
    })
  ).json()) as { id: string }

  const browser = await launch(t)
  const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const owner = await ownerContext.newPage()
  const watchedOwner = watch(owner)
  // The editor's quick preview may find the preview thread busy on a loaded machine: it retries.
  watchedOwner.expectStatuses.add(503)
  await signIn(owner, base, ownerEmail)
  await owner.goto(`${base}/#/w/${created.id}`)
  await owner.locator('g.node[data-id="api"]').waitFor()

  let link = ''
  await t.test('the owner makes a link from the Share menu', async (t) => {
    await owner.getByText('Share', { exact: true }).click()
    await owner.getByRole('button', { name: /Make a read-only link/ }).click()
    const field = owner.locator('input.share-link')
    await field.waitFor()
    link = await field.inputValue()
    t.match(link, new RegExp(`^${base}/shared/[A-Za-z0-9_-]{43}$`), 'an unguessable token in the path')
    await owner.locator('[data-share-live]').waitFor()
    await shot(owner, 'share-menu')
  })

  const visitorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const visitor = await visitorContext.newPage()
  const watchedVisitor = watch(visitor)
  await t.test('a second browser without a session sees the design, nothing of the owner', async (t) => {
    const response = await visitor.goto(link)
    t.equal(response?.headers()['referrer-policy'], 'no-referrer', 'the page keeps its token out of referrers')
    await visitor.getByRole('heading', { name: 'Shared shop' }).waitFor()
    await visitor.locator('[data-read-only]').waitFor()
    t.equal(await visitor.locator('g.node').count(), 3, 'the design is drawn')
    t.equal(await visitor.locator('circle.port').count(), 0, 'read-only: no link handles')
    const text = (await visitor.textContent('body')) ?? ''
    t.notMatch(text, ownerEmail, 'never the owner’s email')
    await visitor.getByRole('button', { name: 'Fork into my workspaces' }).click()
    await visitor.getByRole('region', { name: 'Sign in to fork' }).waitFor()
    await shot(visitor, 'shared-page')
  })

  await t.test('another learner forks it into their own workspaces', async (t) => {
    await visitor.getByLabel('Email').fill(forkerEmail)
    await visitor.getByLabel('Password').fill(PASSWORD)
    await visitor.getByRole('button', { name: 'Sign in' }).last().click()
    // Signed in, the fork asked for goes ahead.
    await visitor.getByRole('heading', { name: 'Shared shop (fork)' }).waitFor()
    await visitor.locator('g.node[data-id="db"]').waitFor()
    const [fork] = await sql`
      select w.name, u.email from app.workspaces w join app.users u on u.id = w.owner_id where w.name like '%(fork)'
    `
    t.equal(fork.email, forkerEmail, 'the fork is the forker’s')
  })

  await t.test('revoked, the link stops working', async (t) => {
    await owner.getByRole('button', { name: 'Stop sharing' }).click()
    await owner.getByText('The link no longer works.').waitFor()
    const anonymous = await browser.newContext()
    const page = await anonymous.newPage()
    const watched = watch(page)
    watched.expectStatuses.add(404)
    await page.goto(link)
    await page.getByRole('alert').filter({ hasText: 'does not work' }).waitFor()
    t.same(watched.problems, [])
    await anonymous.close()
  })

  await t.test('importing: a malformed file is refused in plain words; a design becomes a workspace', async (t) => {
    await owner.goto(`${base}/#/`)
    await owner.getByRole('heading', { name: 'Your workspaces' }).waitFor()
    const input = owner.getByLabel('Import a design (JSON)')
    await input.setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{ not json') })
    await owner.getByRole('alert').filter({ hasText: 'That file is not a design: it is not JSON.' }).waitFor()
    await input.setInputFiles({ name: 'list.json', mimeType: 'application/json', buffer: Buffer.from('[1, 2]') })
    await owner.getByRole('alert').filter({ hasText: 'it needs a list of components and a list of links' }).waitFor()
    // Valid JSON, an invalid design: the api's own sentence.
    watchedOwner.expectStatuses.add(422)
    const dangling = { components: DESIGN.components, links: [...DESIGN.links, { from: 'api', to: 'ghost' }] }
    await input.setInputFiles({
      name: 'dangling.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(dangling))
    })
    const refusal = owner.getByRole('alert').filter({ hasText: 'The design in that file is not valid' })
    await refusal.waitFor()
    t.match(await refusal.textContent(), /ghost/, 'names what is wrong')
    await shot(owner, 'import-refused')
    await input.setInputFiles({
      name: 'imported-shop.design.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(DESIGN))
    })
    await owner.getByRole('heading', { name: 'imported-shop' }).waitFor()
    t.equal(await owner.locator('g.node').count(), 3)
  })

  t.same(watchedOwner.problems, [], 'owner: no console error or CSP violation')
  t.same(watchedVisitor.problems, [], 'visitor: no console error or CSP violation')
})
