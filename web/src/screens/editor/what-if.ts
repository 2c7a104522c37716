// What-if on the canvas: the last run's load sweep as a chart (p95 against offered load, the SLO
// line, where it breaks), a traffic multiplier and click-to-fail, each shown at once on the canvas
// through the preview. Clearly a what-if: never saved, never graded, the saved design untouched.
import { html } from 'htm/preact'
import { availabilityPct, ms, percent, rps } from '../../../../src/domain/format.ts'
import type { DesignPreview, SweepPoint } from '../../../../src/domain/schemas.ts'
import type { Design } from '../../design.ts'
import { describeFailure, type Failure, isActive, NO_WHAT_IF, type WhatIf, zonesOf } from '../../what-if.ts'

const W = 320
const H = 180
const PAD = { left: 44, right: 10, top: 12, bottom: 30 }

/** p95 against offered load, with the SLO, the peak, where it breaks and the what-if's load. */
export function SweepChart(props: {
  sweep: SweepPoint[]
  slo: number
  peak: number
  breakRps: number | null
  whatIfRps: number | null
}) {
  const { sweep, slo } = props
  if (sweep.length === 0) return null
  const maxX = Math.max(...sweep.map((p) => p.rps), props.whatIfRps ?? 0)
  const finite = sweep.map((p) => p.p95).filter((v): v is number => v !== null && Number.isFinite(v))
  const maxY = Math.max(slo * 1.6, Math.min(slo * 4, Math.max(0, ...finite)))
  const x = (v: number) => PAD.left + (v / maxX) * (W - PAD.left - PAD.right)
  const y = (v: number) => H - PAD.bottom - (Math.min(v, maxY) / maxY) * (H - PAD.top - PAD.bottom)
  const points = sweep.map((p) => `${x(p.rps)},${y(p.p95 ?? maxY)}`).join(' ')
  const description = `p95 latency against offered load: ${sweep
    .map((p) => `${rps(p.rps)} ${ms(p.p95)}`)
    .join(
      ', '
    )}; SLO ${slo} ms${props.breakRps !== null ? `; it breaks at ${rps(props.breakRps)}` : '; it holds across the sweep'}`
  return html`
    <figure class="sweep" data-sweep>
      <svg viewBox=${`0 0 ${W} ${H}`} width=${W} height=${H} role="img" aria-label=${description}>
        <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
        <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} />
        <text class="tick" x=${PAD.left - 4} y=${y(slo) + 3} text-anchor="end">${slo}</text>
        <text class="tick" x=${PAD.left - 4} y=${PAD.top + 8} text-anchor="end">${Math.round(maxY)}</text>
        <text class="tick" x=${W - PAD.right} y=${H - 8} text-anchor="end">${Math.round(maxX)} req/s</text>
        <text class="tick" x=${PAD.left} y=${H - 8}>0</text>
        <line class="slo-line" x1=${PAD.left} y1=${y(slo)} x2=${W - PAD.right} y2=${y(slo)} />
        <line class="peak-line" x1=${x(props.peak)} y1=${PAD.top} x2=${x(props.peak)} y2=${H - PAD.bottom} />
        ${props.breakRps !== null && html`<line class="break-line" data-break=${props.breakRps} x1=${x(props.breakRps)} y1=${PAD.top} x2=${x(props.breakRps)} y2=${H - PAD.bottom} />`}
        ${props.whatIfRps !== null && html`<line class="what-if-line" x1=${x(props.whatIfRps)} y1=${PAD.top} x2=${x(props.whatIfRps)} y2=${H - PAD.bottom} />`}
        <polyline class="sweep-line" points=${points} />
      </svg>
      <figcaption>
        p95 (ms) against offered load. <span class="key slo">SLO ${slo} ms</span> · <span class="key peak">peak ${rps(props.peak)}</span>
        ${props.breakRps !== null ? html` · <span class="key break">breaks at ${rps(props.breakRps)}</span>` : ' · holds across the sweep'}
        ${props.whatIfRps !== null && html` · <span class="key what-if">what-if ${rps(props.whatIfRps)}</span>`}
      </figcaption>
    </figure>
  `
}

const MULTIPLIERS = [1, 1.5, 2, 3]

/** What is down in a what-if, the share of requests that meet it and fail, and their routes. */
function Outage(props: { outage: NonNullable<DesignPreview['outage']> }) {
  const o = props.outage
  const them = o.down.length === 1 ? 'it' : 'them'
  return html`
    <div class="outage" data-what-if-outage>
      <p><strong>Down: ${o.down.join(', ')}</strong> (nothing left to fail over to). ${percent(o.failingShare)} of requests meet ${them} and fail${o.failingShare >= 1 ? ': an outage of the whole design' : ''}.</p>
      ${
        o.routes.length > 0 &&
        html`<p class="hint">The routes that fail:</p>
        <ul class="failing-routes">
          ${o.routes.map((r) => html`<li><span class="route">${r.components.join(' → ')}</span> <span class="share">${percent(r.share)}</span></li>`)}
        </ul>
        ${o.routesOmitted !== null && o.routesOmitted > 0 && html`<p class="hint">and ${o.routesOmitted} smaller routes</p>`}`
      }
      ${o.routesOmitted === null && html`<p class="hint">Too many kinds of route to list: every request is counted as failing (a bound).</p>`}
    </div>
  `
}

export function WhatIfPanel(props: {
  design: Design
  whatIf: WhatIf
  onChange: (next: WhatIf) => void
  failMode: boolean
  onFailMode: (on: boolean) => void
  preview: DesignPreview | null
  down: string[]
  error: string | null
  slo: number
  peak: number
  sweep: { sweep: SweepPoint[]; breakRps: number | null } | null
}) {
  const { whatIf } = props
  const set = (patch: Partial<WhatIf>) => props.onChange({ ...whatIf, ...patch })
  const without = (f: Failure) => whatIf.failures.filter((x) => JSON.stringify(x) !== JSON.stringify(f))
  const zones = zonesOf(props.design)
  const p = props.preview
  return html`
    <section class="what-if-panel" aria-label="What-if">
      <p class="hint">Try a load or a failure on the canvas at once. A what-if is never saved and never graded: the saved design stays as it is.</p>
      ${
        props.sweep
          ? html`<${SweepChart} sweep=${props.sweep.sweep} slo=${props.slo} peak=${props.peak} breakRps=${props.sweep.breakRps} whatIfRps=${whatIf.multiplier === 1 ? null : props.peak * whatIf.multiplier} />`
          : html`<p class="hint">Simulate to see the load sweep: p95 against load, and where the SLO breaks.</p>`
      }
      <fieldset class="multiplier">
        <legend>Traffic</legend>
        ${MULTIPLIERS.map(
          (m) =>
            html`<button type="button" aria-pressed=${whatIf.multiplier === m} onClick=${() => set({ multiplier: m })}>${m === 1 ? 'peak' : `${m}× peak`}</button>`
        )}
        <label>× <input type="number" name="multiplier" min="0.1" max="100" step="0.1" value=${whatIf.multiplier}
          onChange=${(e: Event) => {
            const v = Number((e.target as HTMLInputElement).value)
            if (v > 0 && v <= 100) set({ multiplier: v })
          }} /></label>
      </fieldset>
      <fieldset class="failures">
        <legend>Failures</legend>
        <label class="check-row"><input type="checkbox" name="fail-mode" checked=${props.failMode}
          onChange=${(e: Event) => props.onFailMode((e.target as HTMLInputElement).checked)} />
          Click a component on the canvas to lose one instance (a database with replicas: its primary; its only instance: it is down)</label>
        ${zones.map(
          (zone) =>
            html`<button type="button" aria-pressed=${whatIf.failures.some((f) => f.kind === 'zone' && f.zone === zone)}
              onClick=${() => {
                const f: Failure = { kind: 'zone', zone }
                set({
                  failures: whatIf.failures.some((x) => x.kind === 'zone' && x.zone === zone)
                    ? without(f)
                    : [...whatIf.failures, f]
                })
              }}>Lose zone ${zone}</button>`
        )}
        <ul class="failure-list">
          ${whatIf.failures.map(
            (f) =>
              html`<li>${describeFailure(f)} <button type="button" class="linkish" onClick=${() => set({ failures: without(f) })}>undo</button></li>`
          )}
        </ul>
      </fieldset>
      ${isActive(whatIf) && html`<button type="button" onClick=${() => props.onChange(NO_WHAT_IF)}>Back to the design as it is</button>`}
      ${props.error && html`<p class="error" role="alert">${props.error}</p>`}
      ${
        isActive(whatIf) &&
        p &&
        html`<div class="what-if-figures" data-what-if-figures role="status">
          <p class="what-if-title">What-if figures (not the saved design’s)</p>
          <dl>
            <dt>p95</dt><dd data-what-if-p95>${p.outage && p.outage.failingShare >= 1 ? 'none served' : ms(p.overall.p95)}</dd>
            <dt>errors</dt><dd data-what-if-errors>${percent(p.overall.errorRate)}</dd>
            <dt>throughput</dt><dd>${rps(p.overall.throughputRps)}</dd>
            <dt>availability</dt><dd data-what-if-availability>${availabilityPct(p.availability.fraction)}</dd>
            <dt>busiest</dt><dd>${Math.round(Math.max(0, ...p.components.filter((c) => !props.down.includes(c.id)).map((c) => c.utilization)) * 100)}%</dd>
          </dl>
          ${p.outage && html`<${Outage} outage=${p.outage} />`}
        </div>`
      }
    </section>
  `
}
