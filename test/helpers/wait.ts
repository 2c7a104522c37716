/** Polls until `check` returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`
      )
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Polls like waitFor; returns how long it took (a figure of the reliability report). */
export async function until(
  check: () => Promise<unknown> | unknown,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}
): Promise<number> {
  const started = Date.now()
  await waitFor(check, options)
  return Date.now() - started
}
