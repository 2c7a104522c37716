// What a run says: figures against the SLO, the per-component table, the grade, past runs.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import {
  availabilityPct,
  latencyText,
  ms,
  percent,
  rate,
  rps,
  sizedSentence,
  sloBreakSentence,
  within
} from '../../../../src/domain/format.ts'
import { fromOlderModel } from '../../../../src/domain/model.ts'
import type { DesignPatch } from '../../../../src/domain/patch.ts'
import type { GradeReport, Run, RunSummary } from '../../../../src/domain/resources.ts'
import type { StoredResult } from '../../../../src/domain/schemas.ts'
import { runs as apiRuns, workspaces } from '../../api.ts'
import { DerivationView, DesignDiffView, PredictionScoresView, StaleNote, SuggestionApply } from './coach.ts'

const olderOf = (two: RunSummary[]) => (two[0].createdAt <= two[1].createdAt ? two[0] : two[1])
const newerOf = (two: RunSummary[]) => (two[0].createdAt <= two[1].createdAt ? two[1] : two[0])

/** A run as the editor shows it: the API's, or one just queued (no result yet). */
export type RunView = Pick<Run, 'id' | 'status' | 'error'> & { result?: Run['result'] } & Partial<
    Pick<Run, 'staleBecause' | 'predictions'>
  >
/** A grade as the editor shows it: the API's, or one just queued. */
export type GradeView = Pick<GradeReport, 'id' | 'status' | 'score' | 'items' | 'rubricVersion' | 'error'> &
  Partial<Pick<GradeReport, 'staleBecause' | 'estimation'>>
type Analysis = NonNullable<StoredResult['analysis']>

const pct = percent

/** How the analytic mode's p50, p95 and p99 were obtained, said beside them: an estimate says so. */
const PERCENTILES_SAID: Record<string, string> = {
  exact: '; percentiles exact',
  'monte-carlo': '; percentiles estimated from the sampled requests'
}

export function ResultsPanel(props: { run: RunView | null; error: string | null; slo: number; stale?: string[] }) {
  const { run } = props
  const [explained, setExplained] = useState<{ component: string } | { figure: 'overall' } | null>(null)
  if (props.error) return html`<p class="error" role="alert">${props.error}</p>`
  if (!run) return html`<p class="hint">Press <strong>Simulate</strong> to run the design at its peak traffic.</p>`
  if (run.status === 'queued' || run.status === 'running')
    return html`<p class="progress" role="status" aria-busy="true">Simulation ${run.status}…</p>`
  if (!run.result) return html`<p class="error" role="alert">${run.error ?? 'The run has no result.'}</p>`
  const o = run.result.overall
  // An unbounded figure (null) says why instead of a number.
  const growth = o.overload?.queueGrowthRps ?? 0
  const rows: [string, string, boolean | null, number | string | null][] = [
    ['p50', latencyText(o.p50, growth), null, o.p50],
    ['p95', latencyText(o.p95, growth), within(o.p95, props.slo), o.p95],
    ['p99', latencyText(o.p99, growth), null, o.p99],
    ['Throughput', rps(o.throughputRps), null, o.throughputRps],
    ['Errors', pct(o.errorRate), o.errorRate === 0, o.errorRate],
    ['Bottleneck', o.bottleneck ?? 'none', null, o.bottleneck],
    ['Sustains', rps(o.maxSustainableRps), null, o.maxSustainableRps]
  ]
  return html`
    <section class="results" aria-label="Simulation results" data-run=${run.id}>
      <h2>Result <small>(${run.result.mode}, ${run.result.samples} samples${PERCENTILES_SAID[o.percentiles ?? ''] ?? ''}${fromOlderModel(run.result) ? ', from an older model: simulate again for the current one' : ''})</small></h2>
      <${StaleNote} because=${props.stale ?? []} what="These results are from an earlier run:" />
      <${PredictionScoresView} scores=${run.predictions} />
      <p class=${within(o.p95, props.slo) && o.errorRate === 0 ? 'verdict ok' : 'verdict bad'}>
        ${within(o.p95, props.slo) ? '✓' : '✗'} p95 ${latencyText(o.p95, growth)} against an SLO of ${ms(props.slo)}
      </p>
      <dl class="figures">
        ${rows.map(([k, v, ok, exact]) => html`<div><dt>${k}</dt><dd data-figure=${k.toLowerCase()} data-value=${exact} class=${ok === null ? '' : ok ? 'ok' : 'bad'}>${v}</dd></div>`)}
      </dl>
      <p><button type="button" class="linkish" data-explain="overall" onClick=${() => setExplained({ figure: 'overall' })}>How were these computed?</button></p>
      ${explained && run.id && html`<${DerivationView} runId=${run.id} subject=${explained} onClose=${() => setExplained(null)} />`}
      ${o.singlePointsOfFailure.length > 0 && html`<p>Single points of failure: ${o.singlePointsOfFailure.join(', ')}</p>`}
      <div class="table-scroll">
      <table class="table">
        <caption>Per component at peak</caption>
        <thead><tr><th scope="col">Component</th><th scope="col">rps</th><th scope="col">ρ</th><th scope="col">Mean</th><th scope="col">p95</th><th scope="col">Lost</th></tr></thead>
        <tbody>
          ${run.result.components.map(
            (c) => html`<tr class=${c.id === o.bottleneck ? 'row-bottleneck' : ''}>
              <th scope="row"><button type="button" class="linkish" data-explain=${c.id} title="How was this computed?" onClick=${() => setExplained({ component: c.id })}>${c.id}</button></th><td>${rate(c.arrivalRps)}</td><td>${pct(c.utilization)}${c.saturated ? ' (saturated)' : ''}</td><td>${latencyText(c.meanLatencyMs, c.overload?.queueGrowthRps ?? 0)}</td><td>${latencyText(c.p95LatencyMs, c.overload?.queueGrowthRps ?? 0)}</td><td>${pct(c.lossRate ?? 0)}</td>
            </tr>`
          )}
        </tbody>
      </table>
      </div>
      ${run.result.analysis && html`<${AnalysisView} analysis=${run.result.analysis} slo=${props.slo} />`}
      ${(run.result.links ?? []).map(
        (l) => html`<p class=${l.failedShare > 0 ? 'verdict bad' : 'verdict ok'}>
          ${l.from} → ${l.to}: ${pct(l.timeoutShare)} of attempts time out, ${l.retryAmplification}× the load below, ${pct(l.failedShare)} fail
        </p>`
      )}
      ${run.result.components
        .filter((c) => c.backlog)
        .map(
          (c) => html`<p class=${(c.backlog?.growthPerSecond ?? 0) > 0 ? 'verdict bad' : 'verdict ok'}>
            Queue ${c.id}: consumers at ${pct(c.backlog?.consumersUtilization ?? 0)};
            ${(c.backlog?.growthPerSecond ?? 0) > 0 ? `the backlog grows by ${c.backlog?.growthPerSecond} messages a second` : `a message waits ${ms(c.backlog?.lagMs ?? 0)} from enqueue to done`}
          </p>`
        )}
    </section>
  `
}

function AnalysisView(props: { analysis: Analysis; slo: number }) {
  const a = props.analysis
  return html`
    <section class="analysis" aria-label="What breaks first, failures and cost">
      <h3>What breaks first</h3>
      <ol class="breaks">
        ${a.breaksFirst.slice(0, 4).map((b) => html`<li>${b.component} reaches ${Math.round(b.utilization * 100)}% at ${rps(b.rps)}</li>`)}
      </ol>
      <p data-figure="slo-break">${sloBreakSentence(a, props.slo)}</p>
      <div class="table-scroll">
        <table class="table">
          <caption>If an instance is lost</caption>
          <thead><tr><th scope="col">Component</th><th scope="col">p95</th><th scope="col">Errors</th><th scope="col">SLO</th></tr></thead>
          <tbody>
            ${a.failures.map(
              (f) => html`<tr class=${f.sloHolds ? '' : 'row-bottleneck'}>
                <th scope="row">${f.component}${f.lost === 'primary' ? ' (primary)' : ''}</th>
                <td>${f.outage ? 'outage' : f.p95 === null ? '–' : ms(f.p95)}</td><td>${pct(f.errorRate)}</td><td>${f.sloHolds ? '✓ holds' : '✗ missed'}</td>
              </tr>`
            )}
          </tbody>
        </table>
      </div>
      <p data-figure="availability">Availability ${availabilityPct(a.availability.fraction)} (${a.availability.nines} nines, ${a.availability.downtimeMinutesPerMonth} min down a month) · $${a.cost.perMonth} a month, $${a.cost.perMillionRequests} per million requests</p>
      ${
        a.suggestions.length > 0 &&
        html`<h3>Suggested sizes</h3><ul>${a.suggestions.map((s) => html`<li><strong>${s.component}</strong>: ${s.instances} → ${s.suggested} instances (${s.costDeltaPerMonth >= 0 ? '+' : ''}$${s.costDeltaPerMonth} a month): ${s.reason}</li>`)}</ul>
        ${a.sized && html`<p data-figure="sized">${a.sized.sloHolds ? '✓' : '✗'} ${sizedSentence(a.sized, props.slo)}</p>`}`
      }
    </section>
  `
}

export function GradePanel(props: {
  grade: GradeView | null
  onSelectItem: (components: string[]) => void
  onApply?: (patch: DesignPatch) => void
  /** Local edits since the run: the grade is out of date too. */
  stale?: string[]
}) {
  const { grade } = props
  const [active, setActive] = useState<string | null>(null)
  if (!grade)
    return html`<p class="hint">Simulate, then press <strong>Grade</strong> for a rubric with points, findings and suggestions.</p>`
  if (grade.status === 'queued' || grade.status === 'running')
    return html`<p class="progress" role="status" aria-busy="true">Grading…</p>`
  if (grade.status === 'failed' || !grade.items)
    return html`<p class="error" role="alert">${grade.error ?? 'Grading failed.'}</p>`
  return html`
    <section class="grade" aria-label="Grade">
      <h2>Grade <span class="score" data-score=${grade.score}>${grade.score} / 100</span>${typeof grade.estimation === 'number' && html` <span class="score estimation" data-estimation=${grade.estimation} title="Your predictions: beside the total, never in it">estimation ${grade.estimation}%</span>`}</h2>
      <${StaleNote} because=${[...new Set([...(grade.staleBecause ?? []), ...(props.stale ?? [])])]} what="This grade is of a run that is out of date:" />
      ${typeof grade.rubricVersion === 'number' && html`<p class="hint">Scored by rubric version ${grade.rubricVersion}.</p>`}
      <ol class="rubric">
        ${grade.items.map(
          (item) => html`
            <li class=${`rubric-item ${item.passed ? 'passed' : 'failed'}${active === item.id ? ' active' : ''}`}>
              <button type="button" class="rubric-head" aria-pressed=${active === item.id}
                onClick=${() => {
                  const next = active === item.id ? null : item.id
                  setActive(next)
                  props.onSelectItem(next ? (item.components ?? []) : [])
                }}>
                <span class="mark" aria-hidden="true">${item.passed ? '✓' : '✗'}</span>
                <span class="title">${item.title}</span>
                <span class="points">${item.points}/${item.maxPoints}</span>
              </button>
              <p>${item.finding}</p>
              ${
                props.onApply && item.patch && item.effect
                  ? html`<${SuggestionApply} item=${item} onApply=${props.onApply} />`
                  : html`<p class="suggestion"><strong>Next:</strong> ${item.suggestion}</p>`
              }
            </li>
          `
        )}
      </ol>
    </section>
  `
}

export function RunsPanel(props: {
  workspaceId: string
  refresh: number
  currentId: string | null
  onOpen: (id: string) => void
}) {
  const [runs, setRuns] = useState<RunSummary[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [compare, setCompare] = useState<string[]>([])
  const [error, setError] = useState<string | null>(null)

  async function load(after: string | null) {
    try {
      const { data } = await workspaces.runs(props.workspaceId, 10, after)
      setRuns((old) => (after ? [...old, ...data.items] : data.items))
      setCursor(data.nextCursor)
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }
  useEffect(() => void load(null), [props.workspaceId, props.refresh])

  // Two runs compared: their designs too (each run keeps the design it ran with).
  const [designs, setDesigns] = useState<Map<string, Run['design']>>(new Map())
  useEffect(() => {
    for (const id of compare)
      if (!designs.has(id))
        void apiRuns
          .get(id)
          .then(({ data }) => setDesigns((m) => new Map(m).set(id, data.design)))
          .catch(() => {})
  }, [compare.join()])
  const toggle = (id: string) => setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id].slice(-2)))
  const chosen = compare.map((id) => runs.find((r) => r.id === id)).filter((r): r is RunSummary => Boolean(r))

  if (error) return html`<p class="error" role="alert">${error}</p>`
  if (runs.length === 0) return html`<p class="hint">No runs yet.</p>`
  return html`
    <section aria-label="Past runs">
      <h2>Runs</h2>
      <p class="field-hint">Tick two runs to compare them.</p>
      <ul class="runs">
        ${runs.map(
          (r) => html`<li class=${r.id === props.currentId ? 'current' : ''}>
            <label class="check"><input type="checkbox" checked=${compare.includes(r.id)} onChange=${() => toggle(r.id)} aria-label=${`Compare the run of ${new Date(r.createdAt).toLocaleString()}`} /></label>
            <button type="button" class="linkish" onClick=${() => props.onOpen(r.id)} disabled=${r.status !== 'completed'}>
              ${new Date(r.createdAt).toLocaleString()} — ${r.status}${r.overall ? `, p95 ${ms(r.overall.p95)}` : ''}${r.latestGrade ? `, grade ${r.latestGrade.score}` : ''}
            </button>
          </li>`
        )}
      </ul>
      ${cursor && html`<button type="button" onClick=${() => load(cursor)}>More runs</button>`}
      ${
        chosen.length === 2 &&
        html`<table class="table compare" aria-label="Two runs compared">
          <thead><tr><th></th>${chosen.map((r) => html`<th scope="col">${new Date(r.createdAt).toLocaleTimeString()}</th>`)}</tr></thead>
          <tbody>
            <tr><th scope="row">p95</th>${chosen.map((r) => html`<td>${r.overall ? ms(r.overall.p95) : '–'}</td>`)}</tr>
            <tr><th scope="row">p99</th>${chosen.map((r) => html`<td>${r.overall ? ms(r.overall.p99) : '–'}</td>`)}</tr>
            <tr><th scope="row">Errors</th>${chosen.map((r) => html`<td>${r.overall ? pct(r.overall.errorRate) : '–'}</td>`)}</tr>
            <tr><th scope="row">Bottleneck</th>${chosen.map((r) => html`<td>${r.overall?.bottleneck ?? '–'}</td>`)}</tr>
            <tr><th scope="row">Sustains</th>${chosen.map((r) => html`<td>${r.overall ? rps(r.overall.maxSustainableRps) : '–'}</td>`)}</tr>
            <tr><th scope="row">Grade</th>${chosen.map((r) => html`<td>${r.latestGrade ? r.latestGrade.score : 'not graded'}</td>`)}</tr>
          </tbody>
        </table>
        <${DesignDiffView} before=${designs.get(olderOf(chosen).id)} after=${designs.get(newerOf(chosen).id)} />`
      }
    </section>
  `
}
