import t from 'tap'
import { coalesce } from '../../jobs/coalesce.ts'

t.test('calls made together go in one statement, each gets its own output', async (t) => {
  const statements: number[][] = []
  const double = coalesce(async (items: number[]) => {
    statements.push(items)
    return items.map((x) => x * 2)
  })
  t.same(await Promise.all([1, 2, 3, 4].map(double)), [2, 4, 6, 8])
  t.same(statements, [[1, 2, 3, 4]], 'one statement for four calls')
})

t.test('calls made while a statement is in flight go together in the next one', async (t) => {
  const statements: number[][] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const echo = coalesce(async (items: number[]) => {
    statements.push(items)
    if (statements.length === 1) await gate
    return items
  })
  const first = echo(1)
  await new Promise((resolve) => setImmediate(resolve))
  const later = [2, 3, 4].map(echo)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(statements, [[1]], 'the later calls wait for the statement in flight')
  release()
  t.same(await Promise.all([first, ...later]), [1, 2, 3, 4])
  t.same(statements, [[1], [2, 3, 4]])
})

t.test('a failed statement fails its own items only', async (t) => {
  let calls = 0
  const flaky = coalesce(async (items: string[]) => {
    calls++
    if (calls === 1) throw new Error('connection lost')
    return items.map((s) => s.toUpperCase())
  })
  const failed = await Promise.allSettled([flaky('a'), flaky('b')])
  t.same(
    failed.map((r) => r.status),
    ['rejected', 'rejected']
  )
  t.equal(await flaky('c'), 'C', 'the next statement runs')
  const short = coalesce(async (_items: number[]) => [1])
  await t.rejects(Promise.all([short(1), short(2)]), { message: /1 outputs for 2 items/ })
})
