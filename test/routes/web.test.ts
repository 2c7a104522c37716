import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { WEB_CSP } from '../../plugins/web.ts'
import { signTicket, ticketKey, verifyTicket } from '../../src/routes/exports/ticket.ts'
import { buildWeb } from '../../web/build.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/db.ts'

t.test('the api serves the built web app at / under the app’s own CSP', async (t) => {
  const root = join(await mkdtemp(join(tmpdir(), 'sdc-web-')), 'dist')
  const built = await buildWeb(root)
  t.ok(built.scriptGzipBytes <= 100 * 1024, `within the budget: ${built.scriptGzipBytes} bytes gzipped`)
  t.ok(built.scriptGzipBytes > 1000, 'and it is the app')
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url, {}, undefined, { webRoot: root })

  for (const path of ['/', '/verify-email?token=abc']) {
    const page = await app.inject({ url: path })
    t.equal(page.statusCode, 200, path)
    t.match(page.headers['content-type'], /^text\/html/)
    t.equal(page.headers['content-security-policy'], WEB_CSP)
    t.equal(page.headers['cache-control'], 'no-cache')
    t.match(page.body, new RegExp(`<script type="module" src="/assets/${built.script}"></script>`))
    t.notMatch(page.body, /<script>|<style>|style=/, 'nothing inline')
  }
  const script = await app.inject({ url: `/assets/${built.script}` })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)
  t.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(script.headers['content-security-policy'], WEB_CSP)
  t.equal((await app.inject({ url: `/assets/${built.style}` })).statusCode, 200)
  t.equal((await app.inject({ url: '/assets/main-AAAAAAAA.js' })).statusCode, 404, 'an unknown asset')
  t.equal((await app.inject({ url: '/assets/..%2Findex.html' })).statusCode, 404, 'nothing outside assets/')
  t.equal((await app.inject({ url: '/assets/index.html' })).statusCode, 404, 'only built names')
  const api = await app.inject({ url: '/health/live' })
  t.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", 'the API is unchanged')
})

t.test('without a built app, / is the API’s 404', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)
  t.equal((await app.inject({ url: '/' })).statusCode, 404)
})

t.test('export tickets name their owner, expire, and fit one export', async (t) => {
  const key = ticketKey('a-secret-that-is-long-enough-000')
  const now = new Date('2026-12-03T10:00:00Z')
  const ticket = signTicket(key, 'export-a', 'user-1', new Date(now.getTime() + 60_000))
  t.equal(verifyTicket(key, 'export-a', ticket, now), 'user-1')
  t.equal(verifyTicket(key, 'export-a', ticket, new Date(now.getTime() + 60_000)), null, 'expired at its time')
  t.equal(verifyTicket(key, 'export-b', ticket, now), null, 'another export')
  t.equal(verifyTicket(ticketKey('another-secret-long-enough-00000'), 'export-a', ticket, now), null, 'another key')
  t.equal(verifyTicket(key, 'export-a', ticket.replace('user-1', 'user-2'), now), null, 'another owner')
  const far = signTicket(key, 'export-a', 'user-1', new Date(now.getTime() + 120_000))
  t.equal(
    verifyTicket(key, 'export-a', far.replace(/\.\d+\./, `.${now.getTime() + 60_000}.`), now),
    null,
    'a changed expiry'
  )
  for (const bad of ['', 'a.b', 'a.b.c.d', 'user-1.notanumber.sig'])
    t.equal(verifyTicket(key, 'export-a', bad, now), null, `malformed: ${JSON.stringify(bad)}`)
})
