import t from 'tap'
import { fitLabel, type Measure, wrap } from '../../web/src/ui/fit-text.ts'

// A node's label fitted to its box: wrapped at word breaks, smaller when too many lines, never cut.
// A fixed-pitch measure (0.6 of the font size a character) stands for the page's font here.
const measure: Measure = (text, size) => text.length * size * 0.6
const W = 112
const H = 52

const fits = (lines: ReturnType<typeof fitLabel>, measureOf: Measure = measure) =>
  lines.every(
    (l) => (l.textLength ?? measureOf(l.text.trimEnd(), l.size, 400)) <= W + 1e-9 && l.y <= H && l.y - l.size * 0.8 >= 0
  )

t.test('a short name and detail take a line each at full size', async (t) => {
  const lines = fitLabel('api', 'Service ×4', W, H, measure)
  t.same(
    lines.map((l) => [l.part, l.text, l.size]),
    [
      ['id', 'api', 14],
      ['detail', 'Service ×4', 11.5]
    ]
  )
  t.ok(fits(lines))
})

t.test('a long name wraps after its hyphens, its letters all there', async (t) => {
  const lines = fitLabel('payments-reconciliation-worker', 'ρ 95% · p95 123.4 ms', W, H, measure)
  const name = lines.filter((l) => l.part === 'id')
  t.equal(name.length, 2, 'two lines')
  t.equal(name.map((l) => l.text).join(''), 'payments-reconciliation-worker', 'nothing cut, no ellipsis')
  t.equal(
    lines
      .filter((l) => l.part === 'detail')
      .map((l) => l.text)
      .join(''),
    'ρ 95% · p95 123.4 ms'
  )
  t.ok(fits(lines), 'every line within the box')
  t.notOk(lines.some((l) => l.text.includes('…')))
})

t.test('the longest name the design allows still fits, drawn no wider than the box', async (t) => {
  const id = 'x'.repeat(40)
  const lines = fitLabel(id, 'Message queue ×12', W, H, measure)
  t.equal(
    lines
      .filter((l) => l.part === 'id')
      .map((l) => l.text)
      .join(''),
    id
  )
  t.ok(fits(lines))
  t.ok(lines.length <= 4)
})

t.test('wrap breaks at spaces and hyphens first, inside a word only when it must', async (t) => {
  const narrow = (s: string) => s.length <= 8
  t.same(wrap('search-index-2', narrow), ['search-', 'index-2'])
  t.same(wrap('ρ 95% · p95 ∞', narrow), ['ρ 95% · ', 'p95 ∞'])
  t.same(wrap('abcdefghijkl', narrow), ['abcdefgh', 'ijkl'])
  t.same(wrap('', narrow), [''])
})
