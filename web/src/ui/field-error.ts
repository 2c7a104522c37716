// A refused field's sentence (the api's plain words) beside the field it names.
import { html } from 'htm/preact'
import { ApiError, type Problem } from '../api.ts'

/** The api's sentence for one field of a refused request, if it names it. */
export const problemAt = (err: unknown, path: string): string | null =>
  err instanceof ApiError ? (err.problems.find((p: Problem) => p.path === path)?.message ?? null) : null

/** A field's error beside it, referenced by the field's aria-describedby. */
export const FieldError = (props: { id: string; message: string | null }) =>
  props.message ? html`<p class="field-error" id=${props.id} role="alert">${props.message}</p>` : null
