import type { Page } from 'playwright-core'
import t from 'tap'
import { chainDesign, featureDesign } from '../../bench/lib/context.ts'
import { simulate } from '../../src/domain/engine.ts'
import { renderReport } from '../../src/domain/report.ts'
import { reportInput } from '../helpers/reports.ts'
import { launch, SCREENSHOTS, watch } from './browser.ts'

// The HTML report's architecture in a real browser: a wide design keeps legible labels (it
// scrolls sideways instead of shrinking past a point), a narrow one fits the page as it is, and
// printed, any of them fits the paper.

const traffic = { peakRps: 200, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

/** The diagram's rendered scale (its width on screen over its own) and whether its box scrolls. */
async function diagram(page: Page) {
  return page.locator('.diagram').evaluate((box) => {
    const svg = box.querySelector('svg')
    const width = svg?.getBoundingClientRect().width ?? 0
    return {
      scale: width / Number(svg?.getAttribute('width')),
      scrolls: box.scrollWidth > box.clientWidth + 1,
      page: box.ownerDocument.body.getBoundingClientRect().width,
      width
    }
  })
}

t.test('a wide architecture scrolls at a legible scale; a narrow one fits; printed, both fit', async (t) => {
  const browser = await launch(t)
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const watched = watch(page)
  for (const [name, design, wide] of [
    ['chain30', chainDesign(30), true],
    ['features30', featureDesign(30), true],
    ['chain3', chainDesign(3), false]
  ] as const) {
    const result = simulate(design, traffic, { seed: 1, samples: 2000 })
    await page.setContent(renderReport('html', reportInput(name, design, traffic, result)).content as string)
    await page.emulateMedia({ media: 'screen' })
    const screen = await diagram(page)
    if (wide) {
      t.ok(screen.scale >= 0.79, `${name}: drawn at ${screen.scale.toFixed(2)}×, not shrunk past 0.8`)
      t.ok(screen.scrolls, `${name}: its box scrolls sideways`)
    } else {
      t.equal(Math.round(screen.scale * 100), 100, `${name}: drawn at its own size`)
      t.notOk(screen.scrolls, `${name}: nothing to scroll`)
    }
    await page.screenshot({ path: `${SCREENSHOTS}report-${name}.png` })
    await page.emulateMedia({ media: 'print' })
    const printed = await diagram(page)
    t.ok(printed.width <= printed.page + 1, `${name}: printed, ${printed.width} px within the page's ${printed.page}`)
    t.notOk(printed.scrolls, `${name}: printed, nothing cut off`)
  }
  t.same(watched.problems, [], 'no console error')
})
