// The coach's parts of the editor (issue 38): predictions before a run and their scores after,
// the derivation behind a figure, a suggestion's verified effect with its Apply button, and the
// mark on results that are out of date.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import type { Derivation } from '../../../../src/domain/explain-schemas.ts'
import type { GradeItem } from '../../../../src/domain/grade-schemas.ts'
import type { DesignPatch } from '../../../../src/domain/patch.ts'
import type { PredictionScores, Predictions } from '../../../../src/domain/resources.ts'
import type { DesignDocument } from '../../../../src/domain/schemas.ts'
import { runs } from '../../api.ts'

/** What the model reads of a design (positions and names aside): equal keys, same results. */
export function modelledKey(design: DesignDocument): string {
  return JSON.stringify({
    components: design.components.map(({ x: _x, y: _y, name: _n, ...rest }) => rest),
    links: design.links
  })
}

const CAUSES: Record<string, string> = {
  design: 'the design changed',
  traffic: 'the traffic profile changed',
  model: 'the model changed',
  rubric: 'the rubric changed'
}

/** "Out of date — simulate again", and why. */
export function StaleNote(props: { because: string[]; what: string }) {
  if (props.because.length === 0) return null
  return html`<p class="stale" role="status" data-stale=${props.because.join(' ')}>
    <strong>Out of date — simulate again.</strong> ${props.what} ${props.because.map((b) => CAUSES[b] ?? b).join(', ')} since.
  </p>`
}

/** Predictions before Simulate: each optional, all skippable. */
export function PredictForm(props: { componentIds: string[]; value: Predictions; onChange: (p: Predictions) => void }) {
  const { value } = props
  const set = (key: keyof Predictions, raw: string) => {
    const next: Predictions = { ...value }
    if (raw === '') delete next[key]
    else if (key === 'bottleneck') next.bottleneck = raw
    else next[key] = Number(raw)
    props.onChange(next)
  }
  return html`
    <details class="predict">
      <summary>Predict before you simulate <small>(optional: scored beside the grade, never in it)</small></summary>
      <div class="predict-fields">
        <label>p95 at peak (ms)
          <input type="number" min="0" step="any" name="predict-p95" value=${value.p95Ms ?? ''} onInput=${(e: Event) => set('p95Ms', (e.target as HTMLInputElement).value)} />
        </label>
        <label>Bottleneck
          <select name="predict-bottleneck" value=${value.bottleneck ?? ''} onChange=${(e: Event) => set('bottleneck', (e.target as HTMLSelectElement).value)}>
            <option value="">—</option>
            ${props.componentIds.map((id) => html`<option value=${id}>${id}</option>`)}
          </select>
        </label>
        <label>Max sustainable (rps)
          <input type="number" min="0" step="any" name="predict-rps" value=${value.maxSustainableRps ?? ''} onInput=${(e: Event) => set('maxSustainableRps', (e.target as HTMLInputElement).value)} />
        </label>
      </div>
    </details>
  `
}

const LABELS: Record<string, string> = {
  p95Ms: 'p95 at peak (±25 %)',
  bottleneck: 'Bottleneck (or its identical group)',
  maxSustainableRps: 'Max sustainable (±20 %)'
}

/** Each prediction against the result. */
export function PredictionScoresView(props: { scores: PredictionScores | null | undefined }) {
  const s = props.scores
  if (!s) return null
  const made = (['p95Ms', 'bottleneck', 'maxSustainableRps'] as const).filter((k) => s[k])
  return html`
    <section class="predictions" aria-label="Your predictions">
      <h3>Your predictions <span class="score" data-estimation=${s.score}>${s.score}% right</span></h3>
      <ul>
        ${made.map((k) => {
          const p = s[k]
          if (!p) return null
          return html`<li class=${p.correct ? 'ok' : 'bad'} data-prediction=${k}>
            ${p.correct ? '✓' : '✗'} ${LABELS[k]}: you said ${p.predicted}, the model ${p.actual ?? 'unbounded'}${p.error !== null ? ` (${p.error > 0 ? '+' : ''}${Math.round(p.error * 100)} %)` : ''}
          </li>`
        })}
      </ul>
    </section>
  `
}

const num = (v: number | null) => (v === null ? 'unbounded' : String(Math.round(v * 1000) / 1000))

/** The working behind a figure, fetched from the run when asked for. */
export function DerivationView(props: {
  runId: string
  subject: { component: string } | { figure: 'overall' }
  onClose: () => void
}) {
  const [d, setD] = useState<Derivation | null>(null)
  const [error, setError] = useState<string | null>(null)
  const key = 'component' in props.subject ? props.subject.component : 'overall'
  useEffect(() => {
    let live = true
    setD(null)
    setError(null)
    runs
      .explain(props.runId, props.subject)
      .then(({ data }) => live && setD(data))
      .catch((err: unknown) => live && setError(err instanceof Error ? err.message : String(err)))
    return () => {
      live = false
    }
  }, [props.runId, key])
  return html`
    <section class="derivation" aria-label=${`How ${key} was computed`} data-derivation=${key}>
      <h3>How ${key === 'overall' ? 'the overall figures were' : `${key}’s figures were`} computed
        <button type="button" class="link" onClick=${props.onClose}>Close</button></h3>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${!d && !error && html`<p aria-busy="true">Working it out…</p>`}
      ${
        d?.kind === 'component' &&
        d.stations.map(
          (s) => html`<div class="station">
          <h4>${s.station} <small>(${s.waitMethod.replace('_', ' ')}, p95 ${s.p95Method}${s.p95Samples ? ` from ${s.p95Samples} draws` : ''})</small></h4>
          <table class="table steps"><tbody>
            ${s.steps.map(
              (step) => html`<tr data-step=${step.symbol}>
                <th scope="row">${step.symbol}</th><td>${step.label}</td><td class="num">${num(step.value)}${step.unit ? ` ${step.unit}` : ''}</td><td class="formula">${step.formula}${step.terms && html`<ul>${step.terms.map((t) => html`<li>${t.label}: ${num(t.value)}</li>`)}</ul>`}</td>
              </tr>`
            )}
          </tbody></table>
        </div>`
        )
      }
      ${
        d?.kind === 'overall' &&
        html`
        <p>Mean: Σ weight × path mean = ${num(d.analyticMeanMs)}${d.analyticMeanMs === null ? '' : ' ms'}. Percentiles: ${d.percentiles.method.replace('_', '-')} over ${d.percentiles.samples} requests drawn with seed ${d.percentiles.seed} (p95 ${num(d.percentiles.p95)} ms).</p>
        ${d.paths && html`<table class="table steps"><caption>Request paths and their weights</caption><tbody>${d.paths.slice(0, 12).map((p) => html`<tr><td>${p.stations.join(' → ')}</td><td class="num">${Math.round(p.probability * 10000) / 100}%</td><td class="num">${num(p.meanMs)}${p.meanMs === null ? '' : ' ms'}</td></tr>`)}</tbody></table>`}
        <table class="table steps"><caption>The ceiling: capacity ÷ visits per request</caption><tbody>${d.ceiling.steps.slice(0, 6).map((s) => html`<tr data-ceiling=${s.station}><td>${s.station}</td><td class="num">${num(s.capacityRps)} rps ÷ ${num(s.visitRatio)}</td><td class="num">= ${num(s.ceilingRps)} rps</td></tr>`)}</tbody></table>
        <p>The least sets the maximum sustainable throughput: ${num(d.ceiling.maxSustainableRps)} rps (${d.ceiling.bottleneck ?? 'none'}).</p>`
      }
    </section>
  `
}

/**
 * A verified suggestion, and Apply (one undoable step): said once, its effect as the model
 * measured it (the suggestion's own sentence, rounded as every figure is).
 */
export function SuggestionApply(props: { item: GradeItem; onApply: (patch: DesignPatch) => void }) {
  const { item } = props
  const [applied, setApplied] = useState(false)
  if (!item.patch || !item.effect) return null
  const e = item.effect
  return html`
    <div class="suggestion-apply" data-apply=${item.id}>
      <p class="suggestion" data-effect=${`${e.item.before}->${e.item.after}`}><strong>Next, tried by the model:</strong> ${item.suggestion}</p>
      <button type="button" class="primary" disabled=${applied} onClick=${() => {
        props.onApply(item.patch as DesignPatch)
        setApplied(true)
      }}>${applied ? 'Applied — simulate to see it' : 'Apply'}</button>
    </div>
  `
}

/** Two designs compared: components added, removed, and changed (with the fields and their values). */
export function designDiff(
  before: DesignDocument,
  after: DesignDocument
): { added: string[]; removed: string[]; changed: { id: string; fields: string[] }[]; links: number } {
  const old = new Map(before.components.map((c) => [c.id, c as Record<string, unknown>]))
  const now = new Map(after.components.map((c) => [c.id, c as Record<string, unknown>]))
  const changed = [...now].flatMap(([id, c]) => {
    const was = old.get(id)
    if (!was) return []
    const fields = [...new Set([...Object.keys(was), ...Object.keys(c)])]
      .filter((k) => k !== 'x' && k !== 'y' && JSON.stringify(was[k]) !== JSON.stringify(c[k]))
      .map((k) => `${k} ${was[k] ?? '–'} → ${c[k] ?? '–'}`)
    return fields.length > 0 ? [{ id, fields }] : []
  })
  const key = (l: DesignDocument['links'][number]) => JSON.stringify([l.from, l.to, l.traffic ?? 'both', l.share ?? 1])
  const linksBefore = new Set(before.links.map(key))
  const linksAfter = new Set(after.links.map(key))
  return {
    added: [...now.keys()].filter((id) => !old.has(id)),
    removed: [...old.keys()].filter((id) => !now.has(id)),
    changed,
    links:
      [...linksAfter].filter((l) => !linksBefore.has(l)).length +
      [...linksBefore].filter((l) => !linksAfter.has(l)).length
  }
}

/** What changed in the design between two runs, as a list. */
export function DesignDiffView(props: { before: DesignDocument | undefined; after: DesignDocument | undefined }) {
  if (!props.before || !props.after) return null
  const d = designDiff(props.before, props.after)
  const none = d.added.length + d.removed.length + d.changed.length + d.links === 0
  return html`<div class="design-diff" aria-label="What changed in the design">
    <h3>Design changes</h3>
    ${none && html`<p>The same design.</p>`}
    <ul>
      ${d.added.map((id) => html`<li data-diff="added">+ ${id} added</li>`)}
      ${d.removed.map((id) => html`<li data-diff="removed">− ${id} removed</li>`)}
      ${d.changed.map((c) => html`<li data-diff="changed">~ ${c.id}: ${c.fields.join(', ')}</li>`)}
      ${d.links > 0 && html`<li data-diff="links">${d.links} link${d.links === 1 ? '' : 's'} added or removed</li>`}
    </ul>
  </div>`
}
