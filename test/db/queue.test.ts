import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import t from 'tap'

// postgres.js's pool queues (src/queue.js, patched at install: patches/*+003+queue-compaction):
// a first-in-first-out queue that keeps no slot for an element once it is shifted out. Unpatched,
// a queue that is never empty when shifted (the busy connections under steady load) grew by one
// slot a query, and every move between queues scanned them all.

interface Queue<T> {
  readonly length: number
  push(x: T): T
  shift(): T | undefined
  remove(x: T): T | null
}

const { default: Queue } = (await import(new URL('queue.js', import.meta.resolve('postgres')).href)) as {
  default: <T>(initial?: T[]) => Queue<T>
}

t.test('it is a FIFO queue with remove, against an array', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant('shift' as const), fc.nat(40), fc.constant('remove' as const)), {
        maxLength: 400
      }),
      fc.nat(),
      (ops, pick) => {
        const queue = Queue<object>()
        const model: object[] = []
        for (const op of ops) {
          if (op === 'shift') {
            if (model.length === 0) continue // the pool shifts only what has a length
            if (queue.shift() !== model.shift()) return false
          } else if (op === 'remove') {
            const x = model[pick % Math.max(1, model.length)] ?? {}
            const at = model.indexOf(x)
            if (at >= 0) model.splice(at, 1)
            if (queue.remove(x) !== (at >= 0 ? x : null)) return false
          } else {
            const x = { op }
            queue.push(x)
            model.push(x)
          }
          if (queue.length !== model.length) return false
        }
        return model.every((x) => queue.shift() === x) && queue.length === 0
      }
    ),
    { numRuns: 300 }
  )
  t.pass('every sequence of push, shift and remove matches the array')
})

t.test('a queue that is never empty when shifted keeps no slot for what left it', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const queue = Queue([{}, {}])
  const cycle = (n: number) => {
    // A busy connection taken for a query and put back, as the pool moves it (shift, then push).
    for (let i = 0; i < n; i++) queue.push(queue.shift() as object)
  }
  cycle(10_000)
  gc()
  const before = process.memoryUsage().heapUsed
  // Unpatched: 2 000 000 slots of 8 bytes (16 MB) that every remove() then scanned.
  cycle(2_000_000)
  gc()
  const grown = process.memoryUsage().heapUsed - before
  t.ok(grown < 2_000_000, `the heap grew ${Math.round(grown / 1000)} kB over 2 000 000 shifts`)
  t.equal(queue.length, 2)
})
