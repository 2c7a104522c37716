import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'

/**
 * A number field that keeps what is being typed until it is committed (its change event: Tab,
 * Enter or leaving it). A controlled input is set back to its value at every render, and the
 * editor renders while a learner types (a save finishing, a preview arriving): without the
 * draft, what they had typed was lost. A commit refused (`onCommit` returns false) keeps the
 * draft too: what the learner typed stays in sight beside the reason it was refused.
 */
export function NumberInput(
  props: Record<string, unknown> & {
    value: number | string
    onCommit: (input: HTMLInputElement) => boolean | undefined
  }
) {
  const { value, onCommit, ...attributes } = props
  const [draft, setDraft] = useState<string | null>(null)
  const refused = useRef(false)
  return html`<input type="number" ...${attributes} value=${draft ?? value}
    onInput=${(e: Event) => {
      refused.current = false
      setDraft((e.target as HTMLInputElement).value)
    }}
    onChange=${(e: Event) => {
      refused.current = onCommit(e.target as HTMLInputElement) === false
      if (!refused.current) setDraft(null)
    }}
    onBlur=${() => !refused.current && setDraft(null)} />`
}

/** An optional field's number: empty is undefined (the default), anything else its value. */
export const numberOrUndefined = (input: HTMLInputElement): number | undefined =>
  input.value === '' ? undefined : Number(input.value)
