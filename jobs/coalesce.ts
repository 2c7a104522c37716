/**
 * Turns a statement over many items into a per-item call, group-commit style: calls made while a
 * statement is in flight wait for it and then go together in the next one. A worker running a
 * batch of jobs at once then claims them, and stores their results, in a few statements instead
 * of one round trip per job, which would bind the drain rate with the worker's thread half idle.
 *
 * `run` gets the waiting items in call order and answers with one output per item, in that order.
 * If it throws, every item of that statement gets the error; the next statement is not affected.
 */
export function coalesce<I, O>(run: (items: I[]) => Promise<O[]>): (item: I) => Promise<O> {
  let waiting: { item: I; resolve: (output: O) => void; reject: (err: unknown) => void }[] = []
  let busy = false

  const flush = async () => {
    busy = true
    while (waiting.length > 0) {
      const group = waiting
      waiting = []
      try {
        const outputs = await run(group.map((w) => w.item))
        if (outputs.length !== group.length)
          throw new Error(`coalesce: ${outputs.length} outputs for ${group.length} items`)
        for (const [i, w] of group.entries()) w.resolve(outputs[i])
      } catch (err) {
        for (const w of group) w.reject(err)
      }
    }
    busy = false
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject })
      // The first call waits one turn of the event loop, so calls made together go together.
      if (!busy && waiting.length === 1) setImmediate(() => void (busy || flush()))
    })
}
