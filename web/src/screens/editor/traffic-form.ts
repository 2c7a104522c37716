// The workspace's traffic profile, within the bounds the api holds it to. A value out of them is
// sent as typed and stays shown: the api's plain sentence appears beside it (never a silent revert).
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { TRAFFIC_BOUNDS } from '../../../../src/domain/components.ts'
import type { TrafficProfile } from '../../../../src/domain/schemas.ts'
import type { Problem } from '../../api.ts'
import { NumberInput } from '../../ui/number-input.ts'
import { FieldErrors, problemFor } from './component-form.ts'

const FIELDS: { key: keyof typeof TRAFFIC_BOUNDS; label: string; step: string; optional?: boolean }[] = [
  { key: 'peakRps', label: 'Peak traffic (requests a second)', step: 'any' },
  { key: 'readRatio', label: 'Share of reads (0–1)', step: '0.05' },
  { key: 'payloadKb', label: 'Payload (kB)', step: 'any' },
  { key: 'latencySloMs', label: 'p95 latency SLO (ms)', step: 'any' },
  { key: 'arrivalCv', label: 'Burstiness of arrivals (CV of the gaps; 1: Poisson)', step: 'any' },
  { key: 'budgetPerMonth', label: 'Monthly budget (USD, optional)', step: 'any', optional: true },
  {
    key: 'availabilityTarget',
    label: `Availability target (${TRAFFIC_BOUNDS.availabilityTarget.min}–${TRAFFIC_BOUNDS.availabilityTarget.max}; empty: 0.999)`,
    step: 'any',
    optional: true
  }
]

export function TrafficForm(props: {
  profile: TrafficProfile
  /** The api's refusal of the last profile sent, a sentence per field. */
  problems: Problem[]
  onChange: (p: TrafficProfile) => void
}) {
  // What the api is never asked: an empty required field, or text that is not a number.
  const [local, setLocal] = useState<Record<string, string>>({})
  const general = props.problems.filter((p) => !FIELDS.some((f) => p.path === `/${f.key}`))
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Traffic profile">
      <h2>Traffic profile</h2>
      <${FieldErrors} problems=${general} />
      ${FIELDS.map((f) => {
        const errors = local[f.key]
          ? [{ path: `/${f.key}`, message: local[f.key] }]
          : problemFor(props.problems, f.key).filter((p) => p.path === `/${f.key}`)
        const errorId = `traffic-err-${f.key}`
        return html`
          <label>${f.label}
            <${NumberInput} name=${f.key} step=${f.step} min=${TRAFFIC_BOUNDS[f.key].min} max=${TRAFFIC_BOUNDS[f.key].max}
              required=${!f.optional} value=${props.profile[f.key] ?? ''}
              aria-invalid=${errors.length > 0} aria-describedby=${errors.length > 0 ? errorId : undefined}
              onCommit=${(input: HTMLInputElement) => {
                const problem = input.validity.badInput
                  ? `${f.label.replace(/ \(.*$/, '')} must be a number`
                  : input.value === '' && !f.optional
                    ? `${f.label.replace(/ \(.*$/, '')} is required`
                    : ''
                setLocal({ ...local, [f.key]: problem })
                if (problem) return false
                props.onChange({ ...props.profile, [f.key]: input.value === '' ? null : Number(input.value) })
                return true
              }} />
          </label>
          <${FieldErrors} problems=${errors} id=${errorId} />
        `
      })}
    </form>
  `
}
