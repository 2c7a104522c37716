// What a refused or failed api call throws: its status, code and problems (the api's plain
// sentences, one per field). Apart from api.ts so that code without a page (the autosaver, its
// tests) can use it.
import type { Problem } from '../../src/domain/schemas.ts'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problems: Problem[]
  readonly body: Record<string, unknown>
  constructor(status: number, code: string, message: string, body: Record<string, unknown> = {}) {
    super(message)
    this.status = status
    this.code = code
    this.body = body
    this.problems = Array.isArray(body.problems) ? (body.problems as Problem[]) : []
  }
  /** No answer at all (offline), or the service is unavailable for now: worth retrying. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504
  }
}
