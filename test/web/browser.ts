// Debian's Chromium driven by playwright-core (which downloads nothing), and the checks every
// page load gets: no console error, no CSP violation, no uncaught exception.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import type { Test } from 'tap'

export const SCREENSHOTS = new URL('../../tmp/screenshots/', import.meta.url).pathname

export function chromiumPath(): string {
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim()
}

export async function launch(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  t.teardown(() => browser.close())
  mkdirSync(SCREENSHOTS, { recursive: true })
  return browser
}

export interface Watched {
  /** Console errors other than the HTTP statuses the step expects, CSP violations, page errors. */
  problems: string[]
  /** HTTP statuses the step expects (a 409 for a conflict, say): not counted as problems. */
  expectStatuses: Set<number>
  /** Console messages the step expects (a failed fetch while offline, say). */
  allow: RegExp[]
}

export function watch(page: Page): Watched {
  const watched: Watched = { problems: [], expectStatuses: new Set(), allow: [] }
  // Failed requests are reported by URL here, and not again as the console's "Failed to load resource".
  page.on('response', (response) => {
    const status = response.status()
    // A preview is only a hint: with every preview thread busy (a loaded machine) it answers 503
    // and the editor keeps the last one, by design.
    if (status === 503 && /\/workspaces\/[^/]+\/preview$/.test(new URL(response.url()).pathname)) return
    if (status >= 400 && !watched.expectStatuses.has(status))
      watched.problems.push(`HTTP ${status} ${response.request().method()} ${new URL(response.url()).pathname}`)
  })
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return
    const text = msg.text()
    if (/^Failed to load resource: the server responded with a status of/.test(text)) return
    if (watched.allow.some((pattern) => pattern.test(text))) return
    if (msg.type() === 'warning' && !/Content Security Policy|Refused/.test(text)) return
    watched.problems.push(`console ${msg.type()}: ${text}`)
  })
  page.on('pageerror', (err) => watched.problems.push(`page error: ${err.message}`))
  return watched
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: false })
}

const AXE_SCRIPT = new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)

interface Violation {
  id: string
  impact: string
  help: string
  nodes: { target: string[] }[]
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is: the serious and critical violations. */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply.
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(readFileSync(AXE_SCRIPT, 'utf8'))
  const violations = (await page.evaluate(`axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations']
  }).then((r) => r.violations)`)) as Violation[]
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}
