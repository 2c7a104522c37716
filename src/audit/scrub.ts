// What an audit row keeps of a body: secrets and personal data replaced, bounded in size.
// Secrets, and the personal data a body carries (an address, a name): a row outlives its account (issue 32); a class join code is a credential (issue 40).
const SECRET_KEY = /pass(word)?|token|secret|authorization|cookie|e-?mail|display_?name|join_?code|^code$/i

/** jsonb cannot hold U+0000 or a lone surrogate: a refused request's body is still recorded, with U+FFFD in their place. */
const storable = (text: string) => text.toWellFormed().replaceAll('\u0000', '\uFFFD')

/** What an audit row keeps of a body, at most: bytes of `changes` as Postgres prints the jsonb. */
export const CHANGES_MAX_BYTES = 4096
/** Items an array and keys an object keep; levels kept; characters a string keeps. */
const MAX_ITEMS = 50
const MAX_DEPTH = 6
const MAX_STRING = 2000
/** Keys named by a body too big to keep. */
const SUMMARY_KEYS = 10
/** A string whose JSON text is itself in quotes: no escapes, one byte a character. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

const stringBytes = (text: string) => (PLAIN.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text)))

/** A number's bytes in the jsonb's text, an upper bound: Postgres prints 1e+21 in full (numeric). */
function numberBytes(n: number): number {
  if (!Number.isFinite(n)) return 4
  const text = String(n)
  const e = text.indexOf('e')
  return e < 0 ? text.length : e + Math.abs(Number(text.slice(e + 1))) + 2
}

/**
 * A copy within the limits, its jsonb text's bytes taken from `budget` as it goes (an estimate
 * that never falls short). Once the budget is spent it stops reading: a 20 000-key body costs
 * MAX_ITEMS keys, not 20 000.
 */
function bounded(value: unknown, depth: number, budget: { left: number }): unknown {
  if (budget.left < 0) return null
  if (depth > MAX_DEPTH) {
    budget.left -= 13
    return '[truncated]'
  }
  if (Array.isArray(value)) {
    budget.left -= 2
    const out: unknown[] = []
    const length = Math.min(value.length, MAX_ITEMS)
    for (let i = 0; i < length && budget.left >= 0; i++) {
      if (i > 0) budget.left -= 2
      out.push(bounded(value[i], depth + 1, budget))
    }
    return out
  }
  if (value && typeof value === 'object') {
    budget.left -= 2
    const out: Record<string, unknown> = {}
    let keys = 0
    // for…in, not Object.entries: it stops at the limit instead of copying every pair first.
    for (const key in value) {
      if (budget.left < 0) break
      if (!Object.hasOwn(value, key)) continue
      if (keys === MAX_ITEMS) {
        out['[truncated]'] = true
        budget.left -= 21
        break
      }
      const name = storable(key)
      budget.left -= stringBytes(name) + (keys > 0 ? 4 : 2)
      if (SECRET_KEY.test(key)) {
        out[name] = '[redacted]'
        budget.left -= 12
      } else out[name] = bounded((value as Record<string, unknown>)[key], depth + 1, budget)
      keys++
    }
    return out
  }
  if (typeof value === 'string') {
    const text = storable(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value)
    budget.left -= stringBytes(text)
    return text
  }
  if (typeof value === 'number') budget.left -= numberBytes(value)
  else budget.left -= value === false ? 5 : 4
  return value
}

/** What stands for a body too big to keep: its size as sent (Content-Length) and its first keys. */
function summary(value: unknown, bytes: number | null): Record<string, unknown> {
  const out: Record<string, unknown> = { '[truncated]': true, bytes }
  if (Array.isArray(value)) out.items = value.length
  else if (value && typeof value === 'object') {
    const keys: string[] = []
    for (const key in value) {
      if (keys.length === SUMMARY_KEYS) break
      if (Object.hasOwn(value, key)) keys.push(storable(key.slice(0, 40)))
    }
    out.keys = keys
  }
  return out
}

/**
 * The request body as stored in `changes`: secrets replaced, at most MAX_ITEMS keys or items
 * each, MAX_DEPTH levels and CHANGES_MAX_BYTES in all; past that, a summary instead
 * (`{"[truncated]": true, "bytes": …, "keys": […]}`). `bytes` is the body's size as sent, if known.
 */
export function scrub(value: unknown, bytes: number | null = null): unknown {
  const budget = { left: CHANGES_MAX_BYTES }
  const copy = bounded(value, 0, budget)
  return budget.left >= 0 ? copy : summary(value, bytes)
}
