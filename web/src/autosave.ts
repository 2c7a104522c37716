// Debounced saving with optimistic versions. One save in flight at a time; an edit made during it
// is saved after it. A 409 stops saving and hands the newer copy to the page, which asks the
// learner whether to load it or overwrite it; nothing is dropped silently. Offline or a 503
// retries with backoff; a refusal (400 or 422, its problems in plain words) waits for the next
// edit. Leaving the page sends what is pending in one keepalive request (`flushOnLeave`).

import type { Problem } from '../../src/domain/schemas.ts'
import { ApiError } from './api-error.ts'

export type SaveState =
  | { kind: 'saved' }
  | { kind: 'pending' }
  | { kind: 'saving' }
  | { kind: 'offline'; retryInMs: number }
  | { kind: 'invalid'; problems: Problem[]; sent: unknown }
  | { kind: 'conflict'; theirVersion: number }
  | { kind: 'failed'; message: string }

export interface AutosaveOptions<T> {
  /** What is saved, as a sentence names it: "design", "traffic profile". */
  what: string
  /**
   * Sends `value` as version `version`; resolves to the new version. `keepalive`: in a request that
   * outlives the page, which may carry only what changed since `base` (what version `version` holds,
   * when known).
   */
  save: (value: T, version: number, keepalive: boolean, base: T | null) => Promise<number>
  /** Whether saving `value` fits a keepalive request (a browser sends at most 64 KB of them). */
  fitsOnLeave?: (value: T, version: number, base: T | null) => boolean
  onState: (state: SaveState) => void
  debounceMs?: number
}

export class Autosaver<T> {
  private value: T | null = null
  private version: number
  private timer: ReturnType<typeof setTimeout> | null = null
  private inFlight = false
  private dirty = false
  private retryMs = 1000
  private stopped = false
  private readonly options: AutosaveOptions<T>
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = []
  /** The save in flight is a keepalive one (the page may go: it completes anyway). */
  private keepalive = false

  /** What the stored version holds, when known (the value loaded, or the last one saved). */
  private base: T | null

  constructor(version: number, options: AutosaveOptions<T>, base: T | null = null) {
    this.version = version
    this.options = options
    this.base = base
  }

  get currentVersion(): number {
    return this.version
  }

  /** A new value to save (debounced). */
  change(value: T): void {
    this.value = value
    this.dirty = true
    this.report({ kind: 'pending' })
    this.schedule(this.options.debounceMs ?? 600)
  }

  /** Saves now whatever is pending (on leaving the page, or on the learner's "overwrite"). */
  flush(): void {
    if (this.dirty) this.schedule(0)
  }

  /** After a conflict: take their copy (nothing to save) … */
  adopt(version: number, theirs: T | null = null): void {
    this.version = version
    this.base = theirs
    this.dirty = false
    this.value = null
    this.report({ kind: 'saved' })
  }

  /**
   * … or merge: the stored version (`version`, holding `stored`) becomes what this saver builds on,
   * and the next `change` (the merged value) is saved over it.
   */
  rebase(version: number, stored: T): void {
    this.version = version
    this.base = stored
  }

  /** What the stored version holds, when known: the base of a three-way merge. */
  get savedValue(): T | null {
    return this.base
  }

  /** Nothing pending, nothing in flight: a newer stored version may be taken in as it is. */
  get idle(): boolean {
    return !this.dirty && !this.inFlight && !this.stopped
  }

  /** … or overwrite it with ours. */
  overwrite(theirVersion: number): void {
    this.version = theirVersion
    this.base = null
    this.flush()
  }

  get hasUnsaved(): boolean {
    return this.dirty || this.inFlight
  }

  /**
   * The page is going away (beforeunload, pagehide, hidden): what is pending is sent now, in a
   * keepalive request the browser completes after the page is gone (and whose answer the page
   * reads like any other if it stays). False when something would be lost: it does not fit a
   * keepalive body, or an ordinary save is in flight; the leave-page prompt then asks.
   */
  flushOnLeave(): boolean {
    if (this.stopped) return true
    if (!this.dirty) return !this.inFlight || this.keepalive
    if (this.inFlight || this.value === null) return false
    if (!this.options.fitsOnLeave?.(this.value, this.version, this.base)) return false
    if (this.timer) clearTimeout(this.timer)
    void this.run(true)
    return true
  }

  /** Resolves once everything is saved (now, if it is); rejects when a save needs the learner. */
  whenSaved(): Promise<void> {
    if (!this.hasUnsaved) return Promise.resolve()
    this.flush()
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  private report(state: SaveState) {
    this.options.onState(state)
    const settled =
      state.kind === 'saved' ? 'resolve' : ['invalid', 'conflict', 'failed'].includes(state.kind) ? 'reject' : null
    if (!settled) return
    const waiters = this.waiters
    this.waiters = []
    const why =
      state.kind === 'invalid' && state.problems.length > 0
        ? `: ${state.problems.map((p) => p.message).join('; ')}`
        : state.kind === 'conflict'
          ? ': it was changed elsewhere'
          : ''
    const error = new Error(`The ${this.options.what} is not saved${why}`)
    for (const w of waiters) settled === 'resolve' ? w.resolve() : w.reject(error)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
  }

  private schedule(ms: number) {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.run(), ms)
  }

  private async run(keepalive = false) {
    this.timer = null
    if (this.inFlight || !this.dirty || this.stopped || this.value === null) return
    const value = this.value
    this.dirty = false
    this.inFlight = true
    this.keepalive = keepalive
    this.report({ kind: 'saving' })
    try {
      this.version = await this.options.save(value, this.version, keepalive, this.base)
      this.base = value
      this.retryMs = 1000
      this.inFlight = false
      this.keepalive = false
      if (this.dirty) this.schedule(0)
      else this.report({ kind: 'saved' })
    } catch (err) {
      this.inFlight = false
      this.keepalive = false
      if (this.stopped) return
      // Anything not saved stays pending: the next attempt sends the newest value.
      this.dirty = true
      if (!(err instanceof ApiError)) {
        this.report({ kind: 'failed', message: String(err) })
      } else if (err.status === 409) {
        const theirVersion = Number(err.body.currentVersion ?? this.version)
        this.report({ kind: 'conflict', theirVersion })
      } else if (err.status === 422 || (err.status === 400 && err.problems.length > 0)) {
        this.report({ kind: 'invalid', problems: err.problems, sent: value })
      } else if (err.transient || err.status === 429) {
        const wait = this.retryMs
        this.retryMs = Math.min(this.retryMs * 2, 30_000)
        this.report({ kind: 'offline', retryInMs: wait })
        this.schedule(wait)
      } else {
        this.report({ kind: 'failed', message: err.message })
      }
    }
  }
}
