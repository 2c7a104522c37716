// The exercises: where a newcomer lands. Each card is a problem with its requirements as numbers;
// Start opens an attempt in the editor (after signing in, for a newcomer).
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import type { Requirements } from '../../../src/domain/exercise-schemas.ts'
import type { ExerciseSummary } from '../../../src/domain/resources.ts'
import { exercises } from '../api.ts'
import { useHeadingFocus } from '../ui/focus.ts'

const DRILL_TEXT: Record<string, string> = {
  instance: 'losing one instance of any component',
  zone: 'losing a zone',
  database_primary: 'losing the database primary'
}
const num = (x: number) => x.toLocaleString('en')
const pct = (x: number) => `${Math.round(x * 1e6) / 1e4}%`

/** Each requirement as a check's id and a line: what the model measures an attempt against. */
export function requirementRows(r: Requirements): { id: string; text: string }[] {
  return [
    { id: 'p95_at_peak', text: `p95 ≤ ${num(r.p95Ms)} ms at ${num(r.peakRps)} rps` },
    { id: 'p99_at_peak', text: `p99 ≤ ${num(r.p99Ms)} ms at ${num(r.peakRps)} rps` },
    { id: 'availability', text: `availability ≥ ${pct(r.availabilityTarget)}` },
    { id: 'budget', text: `cost ≤ $${num(r.budgetPerMonth)} a month` },
    ...r.drills.map((d) => ({ id: `drill_${d}`, text: `survives ${DRILL_TEXT[d] ?? d}` })),
    ...(r.growth
      ? [{ id: 'growth', text: `${r.growth.statement}: p95 ≤ ${num(r.p95Ms)} ms at ${r.growth.factor}× peak` }]
      : [])
  ]
}

/** Starts an attempt and opens it in the editor. */
export async function startExercise(slug: string): Promise<void> {
  const { data } = await exercises.start(slug)
  location.hash = `#/w/${data.id}`
}

export function Exercises(props: {
  /** Signed out: Start asks for an account first (the app remembers which exercise). */
  onStart: (slug: string) => void
  heading?: 'h1' | 'h2'
}) {
  const [items, setItems] = useState<ExerciseSummary[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    exercises
      .list()
      .then(({ data }) => setItems(data.items))
      .catch((err) => setError(err instanceof Error ? err.message : String(err)))
  }, [])
  const Heading = props.heading ?? 'h1'
  // A screen of its own (h1): the focus starts at its heading.
  const heading = useHeadingFocus(Heading === 'h1')
  return html`
    <section class="exercises" aria-labelledby="exercises-heading">
      <${Heading} id="exercises-heading" tabindex="-1" ref=${heading}>Exercises</${Heading}>
      <p class="lead">
        Each exercise is a problem with requirements as numbers. Sketch a design, press Simulate, and the model
        measures it against every check: latency at the peak, availability, the monthly budget, the failures it must
        survive. Hints cost points; the reference solution opens once you submit or give up.
      </p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${items === null && !error && html`<p aria-busy="true">Loading…</p>`}
      <ol class="exercise-list">
        ${items?.map(
          (e) => html`
            <li class="exercise-card" data-exercise=${e.slug}>
              <h3>${e.order}. ${e.title}</h3>
              <p class="exercise-meta">
                <span class=${`difficulty ${e.difficulty}`}>${e.difficulty}</span>
                ${e.attempts > 0 && html` · ${e.attempts} attempt${e.attempts === 1 ? '' : 's'}`}
                ${e.bestScore !== null && html` · best score ${e.bestScore}`}
              </p>
              <p>${e.statement}</p>
              <ul class="requirements-short" aria-label=${`Requirements of ${e.title}`}>
                ${requirementRows(e.requirements).map((r) => html`<li>${r.text}</li>`)}
              </ul>
              <p class="hint">Lesson: ${e.lesson}</p>
              ${e.source && html`<p class="source">Numbers from <a href=${e.source.url} rel="noopener noreferrer">${e.source.title}</a> (${e.source.license.split(' (')[0]}).</p>`}
              <button class="primary" type="button" onClick=${() => props.onStart(e.slug)} aria-label=${`Start ${e.title}`}>Start</button>
            </li>
          `
        )}
      </ol>
    </section>
  `
}
