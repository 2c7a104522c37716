// The editor without a mouse, in a real browser (Debian's Chromium) against the real api and
// worker: sign up, build client → load balancer → service → database, link them, simulate and grade
// by keyboard alone; every refused value said beside its field in plain words and kept in sight;
// undo and redo across a delete and a rename; an edit made just before a reload saved on the way
// out; and axe-core on every screen with no serious or critical violation.
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { axeViolations, launch, shot, type Watched, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'
async function accessible(t: Test, page: Page, screen: string) {
  t.same(await axeViolations(page), [], `${screen}: no serious or critical accessibility violation`)
}

/** What has the focus: its role or tag, and its name as a person would read it. */
const focused = (page: Page): Promise<string> =>
  page.evaluate(`(() => {
    const el = document.activeElement
    if (!el) return ''
    const name = el.getAttribute('aria-label') ?? (el.labels?.[0]?.textContent ?? el.textContent ?? '').replace(/\\s+/g, ' ').trim()
    return (el.getAttribute('role') ?? el.tagName.toLowerCase()) + ': ' + name
  })()`)

/** Presses Tab (or Shift+Tab) until the focus is on what `wanted` matches; throws after `max`. */
async function tabTo(page: Page, wanted: RegExp, back = false, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (wanted.test(await focused(page))) return
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab')
  }
  throw new Error(`Tab never reached ${wanted}; the focus is on ${await focused(page)}`)
}

/** Waits (a few seconds at most) for the focus to be inside what `selector` matches. */
async function focusWithin(page: Page, selector: string): Promise<void> {
  const deadline = Date.now() + 5000
  const inside = `document.activeElement?.closest(${JSON.stringify(selector)}) != null`
  while (!(await page.evaluate(inside))) {
    if (Date.now() > deadline) throw new Error(`the focus never went into ${selector}: it is on ${await focused(page)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Replaces a focused field's text by typing, then leaves it with Tab (its change event). */
async function retype(page: Page, text: string) {
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Backspace')
  if (text) await page.keyboard.type(text)
  await page.keyboard.press('Tab')
}

/** A component on the canvas: its name starts with its id, as drawn. */
const ON_NODE = /^button: [a-z0-9][a-z0-9_…-]* /
const node = (page: Page, id: string) => page.locator(`g.node[data-id="${id}"]`)
const link = (page: Page, from: string, to: string) => page.locator(`g.link[data-link="${from}->${to}"]`)
const saved = (page: Page, which = 'design') => page.locator(`[data-save="${which}"]`).filter({ hasText: ': saved' })

function clean(t: Test, watched: Watched, what: string) {
  t.same(watched.problems, [], `${what}: no console error, CSP violation or page error`)
  watched.problems.length = 0
}

t.test('a learner builds, links, simulates and grades a design by keyboard alone', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const env = { DATABASE_URL: url, AUTH_RATE_LIMIT_MAX_REQUESTS: '1000' }
  const api = await startApi(env, 60_000)
  t.teardown(() => {
    // A failure here once left the api unanswering (CI, not reproduced since): say how it ended.
    if (!t.passing()) {
      const state = api.child.exitCode ?? api.child.signalCode ?? 'still running'
      console.error(`keyboard test failed; the api: ${state}; its stderr: ${api.stderr.join('').slice(-4000)}`)
    }
    return stopProcess(api, 'SIGKILL')
  })
  const worker = await startWorker({ DATABASE_URL: url })
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  const page = await context.newPage()
  const watched = watch(page)
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.type())
    void dialog.accept()
  })

  await page.goto(`${base}/`)
  await page.getByRole('heading', { name: 'System Design Coach' }).waitFor()
  await accessible(t, page, 'sign-in')

  await t.test('sign-up: the tabs answer the arrow keys; a blank name is refused in words', async (t) => {
    await tabTo(page, /^tab: Sign in$/)
    await page.keyboard.press('ArrowRight')
    t.equal(await focused(page), 'tab: Create account', 'the arrow key moves to the next tab')
    t.equal(await page.getByRole('tab', { name: 'Create account' }).getAttribute('aria-selected'), 'true')
    await page.keyboard.press('Tab')
    t.match(await focused(page), /^input: Your name/, 'Tab goes from the tab to its panel')
    await page.keyboard.type('   ')
    await page.keyboard.press('Tab')
    await page.keyboard.type(`keys-${Date.now()}@example.com`)
    await page.keyboard.press('Tab')
    await page.keyboard.type(PASSWORD)
    watched.expectStatuses.add(400)
    await page.keyboard.press('Enter')
    const error = page.locator('#displayName-error')
    await error.waitFor()
    t.equal(await error.textContent(), 'Your name must not be blank', 'the api’s sentence, beside the field')
    t.equal(await page.getByLabel('Your name').inputValue(), '   ', 'what was typed is still there')
    t.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true')
    await accessible(t, page, 'sign-up with an error')
    await tabTo(page, /^input: Your name/, true)
    await page.keyboard.press('Control+A')
    await page.keyboard.type('Kay Board')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
    watched.expectStatuses.delete(400)
    await focusWithin(page, 'h1')
    t.equal(await focused(page), 'h1: Your workspaces', 'the focus is on the new screen’s heading')
    await accessible(t, page, 'workspaces')
  })

  await t.test('a blank workspace name is said, then a workspace opens with the focus on its name', async (t) => {
    await tabTo(page, /^input: New workspace/)
    await page.keyboard.type('  ')
    watched.expectStatuses.add(400)
    await page.keyboard.press('Enter')
    await page.locator('#new-name-error').waitFor()
    t.equal(await page.locator('#new-name-error').textContent(), 'Name must not be blank')
    await page.keyboard.press('Control+A')
    await page.keyboard.type('Keyboard only')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Keyboard only' }).waitFor()
    watched.expectStatuses.delete(400)
    await node(page, 'users').waitFor()
    await focusWithin(page, 'h1')
    t.equal(await focused(page), 'h1: Keyboard only', 'the editor opens with the focus on its heading')
  })

  await t.test('client → load balancer → service → database, linked from the keyboard', async (t) => {
    for (const label of ['Load balancer', 'Service', 'Database']) {
      await tabTo(page, new RegExp(`^button: Add ${label}$`))
      await page.keyboard.press('Enter')
    }
    await node(page, 'database').waitFor()
    t.equal(await page.locator('g.node[tabindex="0"]').count(), 1, 'the canvas is one tab stop')

    // Into the canvas: the arrows go from component to component, Home to the first.
    await tabTo(page, ON_NODE)
    await page.keyboard.press('Home')
    t.match(await focused(page), /^button: users sends the traffic, Client users$/, 'Home is the first component')
    await page.keyboard.press('ArrowRight')
    t.match(await focused(page), /^button: load-balancer /, 'an arrow key, the next')
    t.equal(await page.locator('g.node[tabindex="0"]').getAttribute('data-id'), 'load-balancer', 'the tab stop moved')
    await page.keyboard.press('ArrowLeft')

    // L on one component, Enter on another: a link.
    for (const [from, to] of [
      ['users', 'load-balancer'],
      ['load-balancer', 'service'],
      ['service', 'database']
    ]) {
      t.match(await focused(page), new RegExp(`^button: ${from} `))
      await page.keyboard.press('l')
      t.equal(await node(page, from).getAttribute('data-linking'), 'from')
      if (from === 'users') {
        t.match(await page.locator('.canvas-status').textContent(), /^Linking from users: /, 'said on screen too')
        await shot(page, 'k1-linking')
      }
      await page.keyboard.press('ArrowRight')
      await page.keyboard.press('Enter')
      await link(page, from, to).waitFor({ state: 'attached' })
      t.match(await focused(page), new RegExp(`^button: ${to} `), 'the focus stays on the canvas')
    }
    t.equal(await page.locator('g.link').count(), 3, 'three links')

    // The outline a screen reader walks says the same.
    const outline = await page.locator('section[aria-labelledby="outline-title"] li').allTextContents()
    t.equal(outline.length, 4, 'the canvas has a text alternative: one line a component')
    t.match(outline[0], /^Client users: links to load-balancer$/)
    t.match(outline[1], /^Load balancer load-balancer.*: links to service$/)
    t.match(outline[2], /^Service service.*: links to database$/)
    t.match(outline[3], /^Database database.*: links to nothing$/)

    // Enter opens a component's form (the client's too); Shift+arrows move a component.
    await page.keyboard.press('Home')
    await page.keyboard.press('Enter')
    await focusWithin(page, 'form[aria-label="Component users"]')
    t.match(await focused(page), /^input: Id/, 'Enter takes the focus into the form')
    t.equal(await page.getByRole('form', { name: 'Component users' }).count(), 1, 'the client’s form')
    await tabTo(page, /^button: users /, true)
    const before = await node(page, 'users').getAttribute('transform')
    await page.keyboard.press('Shift+ArrowDown')
    await page.keyboard.press('Shift+ArrowDown')
    t.not(await node(page, 'users').getAttribute('transform'), before, 'Shift+arrows move it')
    await saved(page).waitFor()
    await shot(page, 'k1-built-by-keyboard')
  })

  await t.test('a split whose shares do not add up is said on the link being edited', async (t) => {
    await tabTo(page, ON_NODE, true)
    await page.keyboard.press('Home')
    await page.keyboard.press('ArrowRight')
    await page.keyboard.press('Enter')
    await focusWithin(page, 'form[aria-label="Component load-balancer"]')
    await tabTo(page, /^button: → service$/)
    await page.keyboard.press('Enter')
    const form = 'form[aria-label="Link load-balancer to service"]'
    await focusWithin(page, form)
    await tabTo(page, /^input: Share/)
    watched.expectStatuses.add(422)
    await retype(page, '0.5')
    const error = page.locator(`${form} .field-error`).first()
    await error.waitFor()
    t.match(await error.textContent(), /shares must add up to 1; they add up to 0\.5/, 'beside the share being edited')
    t.equal(await page.locator(`${form} input[name="share"]`).inputValue(), '0.5', 'the value stays')
    t.match(await page.locator('[data-save="design"]').textContent(), /Design: not saved/)
    await tabTo(page, /^input: Share/, true)
    await retype(page, '1')
    await saved(page).waitFor()
    t.equal(await page.locator(`${form} .field-error`).count(), 0, 'and goes once they add up')
    watched.expectStatuses.delete(422)
  })

  await t.test('every refused traffic value is said beside its field and kept in sight', async (t) => {
    await tabTo(page, /^tab: Properties$/)
    await page.keyboard.press('ArrowRight')
    t.equal(await focused(page), 'tab: Traffic')
    const cases: [string, string, string, string][] = [
      ['peakRps', '5e9', 'Peak traffic must be between 0.001 and 1 000 000 requests a second', '200'],
      ['peakRps', '-100', 'Peak traffic must be between 0.001 and 1 000 000 requests a second', '200'],
      ['peakRps', '0', 'Peak traffic must be between 0.001 and 1 000 000 requests a second', '200'],
      ['readRatio', '1.5', 'Share of reads must be between 0 and 1', '0.9'],
      ['latencySloMs', '0', 'p95 latency SLO must be between 0.001 and 3 600 000 ms', '200'],
      ['budgetPerMonth', '-5', 'Monthly budget must be between 0 and 1 000 000 000 US dollars', ''],
      ['availabilityTarget', '0.5', 'Availability target must be between 0.9 and 0.999999', '']
    ]
    watched.expectStatuses.add(400)
    for (const [field, bad, message, good] of cases) {
      await tabTo(page, new RegExp(`^input: ${labelOf(field)}`))
      await retype(page, bad)
      const error = page.locator(`#traffic-err-${field}`)
      await error.waitFor()
      t.equal(await error.textContent(), message, `${field} = ${bad}: said in words`)
      t.equal(
        Number(await page.locator(`input[name="${field}"]`).inputValue()),
        Number(bad),
        `${field} = ${bad}: the value stays`
      )
      t.match(
        await page.locator('[data-save="traffic"]').textContent(),
        /Traffic: not saved/,
        'the badge says it is the traffic profile'
      )
      if (field === 'peakRps' && bad === '5e9') {
        await shot(page, 'k2-traffic-error')
        await accessible(t, page, 'the traffic form with an error')
        // Simulate now says what did not save: the traffic profile, and why.
        await tabTo(page, /^button: Simulate$/)
        await page.keyboard.press('Enter')
        const runError = page.locator('#editor-panel').getByText('The traffic profile is not saved')
        await runError.waitFor()
        t.match(await runError.textContent(), /Peak traffic must be between/)
        await tabTo(page, /^tab: /)
        await page.keyboard.press('End')
        await page.keyboard.press('Home')
        await page.keyboard.press('ArrowRight')
        await tabTo(page, new RegExp(`^input: ${labelOf(field)}`))
      } else await tabTo(page, new RegExp(`^input: ${labelOf(field)}`), true)
      await retype(page, good)
      await saved(page, 'traffic').waitFor()
      t.equal(await error.count(), 0, `${field}: the error goes once the value is good`)
    }
    watched.expectStatuses.delete(400)
  })

  await t.test('simulate and grade from the keyboard', async (t) => {
    await tabTo(page, /^button: Simulate$/)
    await page.keyboard.press('Enter')
    await page.locator('section.results').waitFor({ timeout: 60_000 })
    await shot(page, 'k3-results')
    await accessible(t, page, 'the editor with results')
    await tabTo(page, /^button: Grade$/)
    await page.keyboard.press('Enter')
    await page.locator('.score').waitFor({ timeout: 60_000 })
    t.equal(await page.getByRole('tab', { name: 'Grade' }).getAttribute('aria-selected'), 'true')
    await accessible(t, page, 'the grade')
    await tabTo(page, /^tab: Grade$/)
    await page.keyboard.press('End')
    t.equal(await focused(page), 'tab: Runs', 'End is the last tab')
    await page.locator('ul.runs li').first().waitFor()
    await accessible(t, page, 'the runs')
  })

  await t.test('undo and redo across a rename and a delete, by keys and buttons; an undo autosaves', async (t) => {
    await tabTo(page, ON_NODE)
    await page.keyboard.press('End')
    await page.keyboard.press('ArrowLeft')
    t.match(await focused(page), /^button: service /)
    await page.keyboard.press('Enter')
    await focusWithin(page, 'form[aria-label="Component service"]')
    await retype(page, 'api')
    await node(page, 'api').waitFor()
    await tabTo(page, ON_NODE, true)
    await page.keyboard.press('End')
    t.match(await focused(page), /^button: database /)
    await page.keyboard.press('Delete')
    await node(page, 'database').waitFor({ state: 'detached' })
    await saved(page).waitFor()

    const undoneSave = page.waitForRequest(
      (r) =>
        r.method() === 'PATCH' && /\/workspaces\/[^/]+$/.test(r.url()) && /"id":"database"/.test(r.postData() ?? '')
    )
    await page.keyboard.press('Control+Z')
    await node(page, 'database').waitFor()
    t.equal(await link(page, 'api', 'database').count(), 1, 'the delete undone, its link with it')
    await undoneSave
    await saved(page).waitFor()
    t.pass('the undone delete is saved like any edit')
    await page.keyboard.press('Control+Z')
    await node(page, 'service').waitFor()
    t.equal(await node(page, 'api').count(), 0, 'the rename undone')
    await page.keyboard.press('Control+Shift+Z')
    await node(page, 'api').waitFor()
    await tabTo(page, /^button: Redo$/, true)
    await page.keyboard.press('Enter')
    await node(page, 'database').waitFor({ state: 'detached' })
    await page.keyboard.press('Shift+Tab')
    t.equal(await focused(page), 'button: Undo')
    await page.keyboard.press('Enter')
    await node(page, 'database').waitFor()
    t.equal(await page.getByRole('button', { name: 'Redo' }).isDisabled(), false, 'there is something to redo')
    await saved(page).waitFor()
  })

  await t.test('an edit made just before a reload is saved on the way out, without a prompt', async (t) => {
    await tabTo(page, ON_NODE)
    await page.keyboard.press('Home')
    const id = (await page.locator('g.node[tabindex="0"]').getAttribute('data-id')) as string
    const sentOnLeave = page.waitForRequest((r) => r.method() === 'PATCH' && /"designChange"/.test(r.postData() ?? ''))
    await page.keyboard.press('Shift+ArrowRight')
    const moved = await node(page, id).getAttribute('transform')
    await page.reload()
    const change = JSON.parse((await sentOnLeave).postData() ?? '{}').designChange
    t.same(
      change.components.map((c: { id: string }) => c.id),
      [id],
      'the request carries the change (the moved component), not the whole design'
    )
    await node(page, id).waitFor()
    t.same(dialogs, [], 'no leave-page prompt: the pending change went in a keepalive request')
    t.equal(await node(page, id).getAttribute('transform'), moved, 'the edit survived the reload')
    clean(t, watched, 'the keyboard journey')
  })

  await t.test('on a phone', async (t) => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
    t.teardown(() => phone.close())
    await phone.addCookies(await context.cookies())
    const small = await phone.newPage()
    await small.goto(page.url())
    await small.locator('g.node').first().waitFor()
    await shot(small, 'k4-phone-editor')
    await accessible(t, small, 'the editor on a phone')
  })

  await t.test('renaming a workspace to blanks is said beside the name', async (t) => {
    await tabTo(page, /^a: ← Workspaces$/, true)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
    await tabTo(page, /^button: Rename or describe Keyboard only$/)
    await page.keyboard.press('Enter')
    await focusWithin(page, 'form[aria-label="Edit Keyboard only"]')
    await page.keyboard.press('Control+A')
    await page.keyboard.type('   ')
    watched.expectStatuses.add(400)
    await page.keyboard.press('Enter')
    await page.locator('#rename-error').waitFor()
    t.equal(await page.locator('#rename-error').textContent(), 'Name must not be blank')
    t.equal(await page.getByRole('textbox', { name: 'Name' }).inputValue(), '   ', 'what was typed is still there')
    await tabTo(page, /^button: Cancel$/)
    await page.keyboard.press('Enter')
    await focusWithin(page, 'button[id^="rename-"]')
    t.equal(await focused(page), 'button: Rename or describe Keyboard only', 'the focus goes back to the button')
    watched.expectStatuses.delete(400)
    clean(t, watched, 'the workspaces')
  })

  await t.test('the account and password screens', async (t) => {
    await tabTo(page, /^a: Account$/, true)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    await focusWithin(page, 'h1')
    t.equal(await focused(page), 'h1: Your account', 'the focus is on its heading')
    await accessible(t, page, 'the account')
    await tabTo(page, /^a: Exercises$/, true)
    await page.keyboard.press('Enter')
    await page.locator('.exercise-card').first().waitFor()
    await focusWithin(page, 'h1')
    t.equal(await focused(page), 'h1: Exercises', 'the exercises open with the focus on their heading')
    await accessible(t, page, 'the exercises')
    const signedOut = await browser.newPage()
    t.teardown(() => signedOut.close())
    await signedOut.goto(`${base}/#/forgot-password`)
    await signedOut.getByRole('heading').first().waitFor()
    await accessible(t, signedOut, 'forgot password')
  })
})

/** The traffic form's label of a field, as a pattern's start. */
function labelOf(field: string): string {
  const labels: Record<string, string> = {
    peakRps: 'Peak traffic',
    readRatio: 'Share of reads',
    latencySloMs: 'p95 latency SLO',
    budgetPerMonth: 'Monthly budget',
    availabilityTarget: 'Availability target'
  }
  return labels[field]
}
