import t from 'tap'
import { type Figures, type Pass, ratios } from '../bench/lib/measure.ts'

// compareTargets visits targets there and back each round (A B B A): the pass at position k of
// the whole sequence, on a machine slowing linearly, costs `base × (1 + drift × k)`.
function figures(bases: Record<string, number>, rounds: number, drift: number): Record<string, Figures> {
  const names = Object.keys(bases)
  const out: Record<string, Pass[]> = Object.fromEntries(names.map((n) => [n, []]))
  let k = 0
  for (let r = 0; r < rounds; r++)
    for (const name of [...names, ...[...names].reverse()]) {
      const cpuUsPerRequest = bases[name] * (1 + drift * k++)
      out[name].push({ cpuUsPerRequest, total: 1000, requestsPerSec: 1e6 / cpuUsPerRequest } as Pass)
    }
  return Object.fromEntries(names.map((n) => [n, { passes: out[n] } as Figures]))
}

t.test('a ratio pools each round’s two passes, so a steady drift of the machine cancels', async (t) => {
  const f = figures({ a: 100, b: 110, c: 120 }, 5, 0.02)
  // a and c are two passes apart there and back: paired pass by pass, the drift would weigh 4 %.
  t.equal(ratios(f, 'a', 'c').cpu, Math.round((100 / 120) * 1000) / 1000)
  t.equal(ratios(f, 'a', 'b').cpu, Math.round((100 / 110) * 1000) / 1000)
  const { spread } = ratios(f, 'a', 'c')
  t.ok(spread.cpu[1] - spread.cpu[0] < 0.002, 'and every round says the same')
})

t.test('a round spoilt by a burst moves the spread, not the median', async (t) => {
  const f = figures({ a: 100, b: 100 }, 5, 0)
  // One round's b pass there ran on a busy machine.
  f.b.passes[4] = { ...f.b.passes[4], cpuUsPerRequest: 200 }
  t.equal(ratios(f, 'a', 'b').cpu, 1)
})
