// The workspace's traffic profile, within the bounds the api holds it to.
import { html } from 'htm/preact'
import { TRAFFIC_BOUNDS } from '../../../../src/domain/components.ts'
import type { TrafficProfile } from '../../../../src/domain/schemas.ts'
import { NumberInput } from '../../ui/number-input.ts'

const FIELDS: { key: keyof typeof TRAFFIC_BOUNDS; label: string; step: string; optional?: boolean }[] = [
  { key: 'peakRps', label: 'Peak requests per second', step: 'any' },
  { key: 'readRatio', label: 'Share of reads (0–1)', step: '0.05' },
  { key: 'payloadKb', label: 'Payload (kB)', step: 'any' },
  { key: 'latencySloMs', label: 'p95 latency SLO (ms)', step: 'any' },
  { key: 'budgetPerMonth', label: 'Monthly budget (USD, optional)', step: 'any', optional: true },
  {
    key: 'availabilityTarget',
    label: `Availability target (${TRAFFIC_BOUNDS.availabilityTarget.min}–${TRAFFIC_BOUNDS.availabilityTarget.max}; empty: 0.999)`,
    step: 'any',
    optional: true
  }
]

export function TrafficForm(props: { profile: TrafficProfile; onChange: (p: TrafficProfile) => void }) {
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Traffic profile">
      <h2>Traffic profile</h2>
      ${FIELDS.map(
        (f) => html`
          <label>${f.label}
            <${NumberInput} name=${f.key} step=${f.step} min=${TRAFFIC_BOUNDS[f.key].min} max=${TRAFFIC_BOUNDS[f.key].max}
              required=${!f.optional} value=${props.profile[f.key] ?? ''}
              onCommit=${(input: HTMLInputElement) => {
                if (f.optional && input.value === '') return props.onChange({ ...props.profile, [f.key]: null })
                if (input.value === '' || !input.checkValidity()) return
                props.onChange({ ...props.profile, [f.key]: Number(input.value) })
              }} />
          </label>
        `
      )}
    </form>
  `
}
