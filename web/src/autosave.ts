// Debounced saving with optimistic versions. One save in flight at a time; an edit made during it
// is saved after it. A 409 stops saving and hands the newer copy to the page, which asks the
// learner whether to load it or overwrite it; nothing is dropped silently. Offline or a 503
// retries with backoff; a 422 waits for the next edit.
import { ApiError, type Problem } from './api.ts'

export type SaveState =
  | { kind: 'saved' }
  | { kind: 'pending' }
  | { kind: 'saving' }
  | { kind: 'offline'; retryInMs: number }
  | { kind: 'invalid'; problems: Problem[]; sent: unknown }
  | { kind: 'conflict'; theirVersion: number }
  | { kind: 'failed'; message: string }

export interface AutosaveOptions<T> {
  /** Sends `value` as version `version`; resolves to the new version. */
  save: (value: T, version: number) => Promise<number>
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

  constructor(version: number, options: AutosaveOptions<T>) {
    this.version = version
    this.options = options
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
  adopt(version: number): void {
    this.version = version
    this.dirty = false
    this.value = null
    this.report({ kind: 'saved' })
  }

  /** … or overwrite it with ours. */
  overwrite(theirVersion: number): void {
    this.version = theirVersion
    this.flush()
  }

  get hasUnsaved(): boolean {
    return this.dirty || this.inFlight
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
    for (const w of waiters) settled === 'resolve' ? w.resolve() : w.reject(new Error('The design is not saved yet'))
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
  }

  private schedule(ms: number) {
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.run(), ms)
  }

  private async run() {
    this.timer = null
    if (this.inFlight || !this.dirty || this.stopped || this.value === null) return
    const value = this.value
    this.dirty = false
    this.inFlight = true
    this.report({ kind: 'saving' })
    try {
      this.version = await this.options.save(value, this.version)
      this.retryMs = 1000
      this.inFlight = false
      if (this.dirty) this.schedule(0)
      else this.report({ kind: 'saved' })
    } catch (err) {
      this.inFlight = false
      if (this.stopped) return
      // Anything not saved stays pending: the next attempt sends the newest value.
      this.dirty = true
      if (!(err instanceof ApiError)) {
        this.report({ kind: 'failed', message: String(err) })
      } else if (err.status === 409) {
        const theirVersion = Number(err.body.currentVersion ?? this.version)
        this.report({ kind: 'conflict', theirVersion })
      } else if (err.status === 422) {
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
