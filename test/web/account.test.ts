// The account's screens in a real browser (Debian's Chromium), against the real api and worker on a
// test database: sign-up's two answers, a forgotten password reset by the emailed link, the data
// downloaded, and the account deleted.
import { readFile } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { waitFor } from '../helpers/wait.ts'
import { launch, shot, type Watched, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'
const NEW_PASSWORD = 'another long and careful passphrase'

function clean(t: Test, watched: Watched, what: string) {
  t.same(watched.problems, [], `${what}: no console error, CSP violation or page error`)
  watched.problems.length = 0
}

t.test('a learner resets a forgotten password, downloads their data and deletes the account', async (t) => {
  await buildWeb()
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  // Reads past the row-level security (the app's role sees no workspace without a user's context).
  const root = testSql(t, superuserUrl(url))
  // A person's clicks, not a flood: the journey spends more than a minute's /auth/* budget of one address.
  const limits = { AUTH_RATE_LIMIT_MAX_REQUESTS: '1000' }
  const api = await startApi({ DATABASE_URL: url, ...limits }, 60_000)
  t.teardown(() => stopProcess(api, 'SIGKILL'))
  // The same database with email verification on, as production runs by default.
  const verifying = await startApi({ DATABASE_URL: url, ...limits, AUTH_EMAIL_VERIFICATION_REQUIRED: 'true' }, 60_000)
  t.teardown(() => stopProcess(verifying, 'SIGKILL'))
  const worker = await startWorker({ DATABASE_URL: url }, ['--queues', 'email'])
  t.teardown(() => stopProcess(worker, 'SIGKILL'))
  const base = `http://localhost:${api.port}`

  const browser = await launch(t)
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, acceptDownloads: true })
  const page = await context.newPage()
  const watched = watch(page)
  const email = `reset-${Date.now()}@example.com`

  await t.test(
    'sign-up: 409 without verification, the same "check your mail" for a new and a taken email with it',
    async (t) => {
      const signUp = async (address: string) => {
        await page.getByRole('tab', { name: 'Create account' }).click()
        await page.getByLabel('Your name').fill('Ada Learner')
        await page.getByLabel('Email').fill(address)
        await page.getByLabel('Password').fill(PASSWORD)
        await page.getByRole('button', { name: 'Create account' }).last().click()
      }
      await page.goto(`${base}/`)
      await signUp(email)
      await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
      await page.getByRole('button', { name: 'Sign out' }).click()

      watched.expectStatuses.add(409)
      await signUp(email)
      await page.getByText('An account with this email exists already').waitFor()
      t.equal(
        await page.getByRole('tab', { name: 'Sign in' }).getAttribute('aria-selected'),
        'true',
        'back to signing in'
      )
      await shot(page, 'account-01-sign-up-taken')
      watched.expectStatuses.delete(409)

      const verifyingPage = await context.newPage()
      const verifyingWatch = watch(verifyingPage)
      for (const [address, name] of [
        [`fresh-${Date.now()}@example.com`, 'new'],
        [email, 'taken']
      ]) {
        await verifyingPage.goto(`http://localhost:${verifying.port}/`)
        await verifyingPage.getByRole('tab', { name: 'Create account' }).click()
        await verifyingPage.getByLabel('Your name').fill('Someone')
        await verifyingPage.getByLabel('Email').fill(address)
        await verifyingPage.getByLabel('Password').fill(PASSWORD)
        await verifyingPage.getByRole('button', { name: 'Create account' }).last().click()
        await verifyingPage.getByText(`Check your inbox: we sent a message to ${address}`).waitFor()
        await shot(verifyingPage, `account-02-sign-up-check-mail-${name}`)
      }
      clean(t, verifyingWatch, 'sign-up with verification')
      await verifyingPage.close()
      clean(t, watched, 'sign-up')
    }
  )

  await t.test('“Forgot password?” mails a link whose page sets a new password', async (t) => {
    await page.goto(`${base}/`)
    await page.getByRole('link', { name: 'Forgot password?' }).click()
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor()
    await page.getByLabel('Email').fill(email)
    await shot(page, 'account-03-forgot-password')
    await page.getByRole('button', { name: 'Send the link' }).click()
    await page.getByText('we have sent it a link to choose a new password').waitFor()
    await shot(page, 'account-04-forgot-password-sent')

    const [mail] = await waitFor(
      async () => {
        const rows = await sql`select body from app.email_outbox where to_address = ${email} and subject like 'Reset%'`
        return rows.length ? rows : null
      },
      { timeoutMs: 20_000, what: 'the reset mail' }
    )
    const token = /#\/reset-password\/([A-Za-z0-9_-]+)/.exec(mail.body)?.[1]
    t.ok(token, 'the mail carries the link')
    await page.goto(`${base}/#/reset-password/${token}`)
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('New password, again').fill(`${NEW_PASSWORD}!`)
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByText('The two passwords differ.').waitFor()
    await shot(page, 'account-05-reset-password')
    await page.getByLabel('New password, again').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByText('Your password is changed').waitFor()
    t.notOk(page.url().includes(token as string), 'the spent token leaves the address bar')
    await shot(page, 'account-06-reset-done')

    await page.getByRole('link', { name: 'Sign in' }).click()
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).last().click()
    await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()

    // The link works once.
    watched.expectStatuses.add(400)
    await page.goto(`${base}/#/reset-password/${token}`)
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('New password, again').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await page.getByText('This link is not valid any more').waitFor()
    watched.expectStatuses.delete(400)
    clean(t, watched, 'password reset')
  })

  await t.test('the account screen downloads the data, then deletes the account after the password', async (t) => {
    await page.goto(`${base}/`)
    await page.getByRole('heading', { name: 'Your workspaces' }).waitFor()
    await page.getByRole('textbox', { name: 'New workspace' }).fill('Kept in the archive')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.waitForURL(/#\/w\//)
    await page.getByRole('link', { name: 'Account' }).click()
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    await shot(page, 'account-07-account')

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export my data' }).click()
    ])
    t.match(download.suggestedFilename(), /^system-design-coach-\d{4}-\d\d-\d\d\.json$/)
    const archive = JSON.parse(await readFile((await download.path()) as string, 'utf8'))
    t.equal(archive.profile.email, email)
    t.same(
      archive.workspaces.map((w: { name: string }) => w.name),
      ['Kept in the archive']
    )
    await page.getByText('Downloaded').waitFor()

    await page.getByRole('button', { name: 'Delete my account…' }).click()
    watched.expectStatuses.add(403)
    await page.getByLabel('Your password, to confirm').fill('not my password at all')
    await page.getByRole('button', { name: 'Delete my account for good' }).click()
    await page.getByText('That is not your password: nothing was deleted.').waitFor()
    await shot(page, 'account-08-delete-wrong-password')
    watched.expectStatuses.delete(403)
    t.same(await sql`select count(*)::int as n from app.users where email = ${email}`, [{ n: 1 }])

    await page.getByLabel('Your password, to confirm').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Delete my account for good' }).click()
    await page.getByText('Your account and everything in it are deleted.').waitFor()
    await shot(page, 'account-09-deleted')
    t.same(
      await sql`select count(*)::int as n from app.users where email = ${email}`,
      [{ n: 0 }],
      'the account is gone'
    )
    t.same(await root`select count(*)::int as n from app.workspaces where name = 'Kept in the archive'`, [{ n: 0 }])
    await page.reload()
    await page.getByRole('tab', { name: 'Sign in' }).waitFor()
    t.notOk(await page.evaluate("document.cookie.includes('sdc_signed_in=1')"), 'no session is left in the browser')
    clean(t, watched, 'account screen')
  })
})
