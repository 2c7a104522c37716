// The selected link's properties, each change dispatched to the store.
import { html } from 'htm/preact'
import { DEFAULT_BANDWIDTH_MBPS } from '../../../../src/domain/components.ts'
import type { Problem } from '../../api.ts'
import type { Link } from '../../design.ts'
import type { Action } from '../../store.ts'
import { NumberInput, numberOrUndefined } from '../../ui/number-input.ts'
import { FieldErrors, problemFor } from './component-form.ts'

const NETWORK_FIELDS = {
  latencyMs: 'Network latency (ms)',
  bandwidthMbps: 'Bandwidth (Mbit/s)',
  timeoutMs: 'Timeout (ms)',
  retries: 'Retries after a timeout'
} as const

export function LinkForm(props: {
  link: Link
  index: number
  problems: Problem[]
  dispatch: (action: Action) => void
}) {
  const { link, index, dispatch } = props
  const set = (patch: Partial<Link>) => dispatch({ type: 'setLinkField', index, patch })
  const shareErrors = problemFor(props.problems, 'share')
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label=${`Link ${link.from} to ${link.to}`}>
      <h2>Link <code>${link.from}</code> → <code>${link.to}</code></h2>
      <${FieldErrors} problems=${props.problems.filter((p) => !p.path.endsWith('/share'))} />
      <label>Share
        <${NumberInput} name="share" step="0.01" min="0" max="1" value=${link.share ?? 1} aria-invalid=${shareErrors.length > 0}
          onCommit=${(input: HTMLInputElement) => set({ share: Number(input.value) })} />
      </label>
      <p class="field-hint">The fraction of ${link.from}’s requests sent this way (a split’s shares add up to 1).</p>
      <${FieldErrors} problems=${shareErrors} />
      ${(Object.keys(NETWORK_FIELDS) as (keyof typeof NETWORK_FIELDS)[]).map((key) => {
        const errors = problemFor(props.problems, key)
        return html`
          <label>${NETWORK_FIELDS[key]}
            <${NumberInput} name=${key} step="any" min="0" value=${link[key] ?? ''} aria-invalid=${errors.length > 0}
              onCommit=${(input: HTMLInputElement) => set({ [key]: numberOrUndefined(input) })} />
          </label>
          <${FieldErrors} problems=${errors} />
        `
      })}
      <p class="field-hint">Latency or bandwidth: each traversal adds the latency and the payload at the bandwidth (default ${DEFAULT_BANDWIDTH_MBPS}). A timeout retries at once and keeps the timed-out attempt running; empty: none.</p>
      <label>Traffic
        <select value=${link.traffic ?? 'both'} onChange=${(e: Event) => set({ traffic: (e.target as HTMLSelectElement).value as Link['traffic'] })}>
          <option value="both">reads and writes</option>
          <option value="read">reads only</option>
          <option value="write">writes only</option>
        </select>
      </label>
      <button type="button" class="danger" onClick=${() => dispatch({ type: 'delete' })}>Delete link</button>
    </form>
  `
}
