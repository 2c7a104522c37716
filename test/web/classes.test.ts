// A class in a real browser (Debian's Chromium) against the real api and worker processes: an
// instructor creates a class, makes a join code and assigns an exercise; a learner joins with the
// code and starts the assignment; once the learner has submitted, the instructor sees the result
// and the check that failed most.
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { exercises } from '../../src/exercises/index.ts'
import { buildWeb } from '../../web/build.ts'
import { createTestDatabase, waitFor } from '../helpers/db.ts'
import { startApi, startWorker, stopProcess } from '../helpers/stack.ts'
import { launch, shot, watch } from './browser.ts'

const PASSWORD = 'a long and careful passphrase'

async function signUp(browser: Browser, base: string, name: string, email: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  watch(page)
  await page.goto(`${base}/`)
  await page.getByRole('tab', { name: 'Create account' }).click()
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).last().click()
  await page.getByRole('link', { name: 'Classes' }).waitFor()
  return page
}

t.test('an instructor runs a class and sees where it struggles', async (t) => {
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

  // The instructor: a class, a join code, the first exercise assigned.
  const teacher = await signUp(browser, base, 'Grace Teacher', `teacher-${Date.now()}@example.com`)
  await teacher.getByRole('link', { name: 'Classes' }).click()
  await teacher.getByLabel('Organisation').fill('Evening School')
  await teacher.getByLabel('Class name').fill('Systems 101')
  await teacher.getByRole('button', { name: 'Create the class' }).click()
  await teacher.getByRole('heading', { name: 'Systems 101' }).waitFor()
  await teacher.getByRole('button', { name: 'New join code' }).click()
  const code = (await teacher.getByLabel('Join code').textContent())?.trim() ?? ''
  t.match(code, /^[A-Z2-9]{10}$/, 'the code is shown')
  await teacher.getByRole('button', { name: 'Assign' }).click()
  await teacher.locator('tr[data-assignment]').waitFor()
  await shot(teacher, 'classes-01-instructor')

  // The learner joins with the code and starts the assignment: the editor opens on the attempt.
  const learnerEmail = `pupil-${Date.now()}@example.com`
  const learner = await signUp(browser, base, 'Ada Pupil', learnerEmail)
  await learner.getByRole('link', { name: 'Classes' }).click()
  await learner.locator('input[name="code"]').fill(code.toLowerCase())
  await learner.getByRole('button', { name: 'Join' }).click()
  await learner.getByRole('heading', { name: 'Systems 101' }).waitFor()
  t.equal(await learner.locator('tr[data-assignment] .status').textContent(), 'not started')
  t.equal(await learner.getByRole('heading', { name: 'Teaching' }).count(), 0, 'no instructor panel for a learner')
  await shot(learner, 'classes-02-learner')
  await learner.getByRole('button', { name: `Start ${first.title}` }).click()
  await learner.waitForURL(/#\/w\/[0-9a-f-]{36}$/)
  const workspaceId = /#\/w\/([0-9a-f-]{36})$/.exec(learner.url())?.[1] as string

  // The learner's design (one service before a replicated database: it fails the instance drill only), run and submitted through the API.
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined
    })
    return {
      status: res.status,
      body: (await res.json()) as { id: string; gradeId: string; version: number; status: string }
    }
  }
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: learnerEmail, password: PASSWORD })
  })
  const token = ((await login.json()) as { accessToken: string }).accessToken
  const ws = await call('GET', `/workspaces/${workspaceId}`, token)
  const patched = await call('PATCH', `/workspaces/${workspaceId}`, token, {
    version: ws.body.version,
    design: {
      components: [
        { id: 'users', type: 'client' },
        { id: 'app', type: 'service', instances: 1, concurrency: 8, serviceTimeMs: 20, availability: 0.99999 },
        {
          id: 'db',
          type: 'database',
          instances: 1,
          concurrency: 16,
          serviceTimeMs: 2,
          replicas: 1,
          availability: 0.99999
        }
      ],
      links: [
        { from: 'users', to: 'app' },
        { from: 'app', to: 'db' }
      ]
    }
  })
  t.equal(patched.status, 200)
  const run = await call('POST', `/workspaces/${workspaceId}/simulations`, token, { seed: 1 })
  await waitFor(async () => (await call('GET', `/simulations/${run.body.id}`, token)).body.status === 'completed', {
    timeoutMs: 60_000,
    what: 'the run'
  })
  const submitted = await call('POST', `/workspaces/${workspaceId}/submit`, token, {})
  t.equal(submitted.status, 201)
  await waitFor(
    async () => (await call('GET', `/grades/${submitted.body.gradeId}`, token)).body.status === 'completed',
    { timeoutMs: 60_000, what: 'the grade' }
  )

  // The instructor sees the result and the check that failed most.
  await teacher.reload()
  await teacher.getByRole('button', { name: `Results of ${first.title}` }).click()
  const results = teacher.locator('.results')
  await results.waitFor()
  t.match(await results.locator('.summary').textContent(), /1 of 1 started · 1 submitted \(0 late\) · 0 passed/)
  t.match(await results.locator('.most-failed').textContent(), /Most failed check: Survives losing one instance/)
  t.match(await results.locator('.bottleneck').textContent(), /Typical bottleneck: app/)
  await shot(teacher, 'classes-03-results')
})
