// The HTML export's appendix (issue 38): how each component's figures were computed, the
// derivations of src/domain/explain.ts as tables.
import type { ComponentDerivation } from './explain-schemas.ts'

const esc = (v: unknown) =>
  String(v).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string
  )

const num = (v: number | null) => (v === null ? 'unbounded' : String(Math.round(v * 1000) / 1000))

/** The appendix's HTML, empty without derivations. */
export function derivationAppendix(derivations: readonly ComponentDerivation[] | undefined): string {
  if (!derivations || derivations.length === 0) return ''
  const stations = derivations.flatMap((d) => d.stations)
  return `<h2 id="appendix">Appendix: how the figures were computed</h2>
<p>Recomputed from the run's design, traffic profile and seed; each value follows from the ones above it.</p>
${stations
  .map(
    (
      s
    ) => `<h3>${esc(s.station)} <small>(${esc(s.waitMethod.replace('_', ' '))}, p95 ${esc(s.p95Method)}${s.p95Samples ? ` from ${esc(s.p95Samples)} draws` : ''})</small></h3>
<table><thead><tr><th>step</th><th>what</th><th>value</th><th>how</th></tr></thead><tbody>${s.steps
      .map(
        (step) =>
          `<tr><td>${esc(step.symbol)}</td><td>${esc(step.label)}</td><td>${esc(num(step.value))}${step.unit ? ` ${esc(step.unit)}` : ''}</td><td>${esc(step.formula)}${
            step.terms
              ? `<ul>${step.terms.map((t) => `<li>${esc(t.label)}: ${esc(num(t.value))}</li>`).join('')}</ul>`
              : ''
          }</td></tr>`
      )
      .join('')}</tbody></table>`
  )
  .join('\n')}`
}
