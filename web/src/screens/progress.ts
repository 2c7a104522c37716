// The learner's progress (issue 38): exercises attempted, best score, checks passed, hints used,
// and the estimation score of each run with predictions, over time.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { type Progress, progress } from '../api.ts'

export function ProgressPage() {
  const [data, setData] = useState<Progress | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    progress
      .get()
      .then(({ data }) => setData(data))
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
  }, [])
  if (error) return html`<main class="page"><p class="error" role="alert">${error}</p></main>`
  if (!data) return html`<main class="page"><p aria-busy="true">Loading…</p></main>`
  const mean =
    data.estimation.length > 0
      ? Math.round(data.estimation.reduce((s, e) => s + e.score, 0) / data.estimation.length)
      : null
  return html`
    <main class="page progress-page">
      <h1>Your progress</h1>
      <section aria-label="Exercises attempted">
        <h2>Exercises</h2>
        ${
          data.exercises.length === 0
            ? html`<p class="hint">No exercise attempted yet: <a href="#/exercises">pick one</a>.</p>`
            : html`<table class="table"><thead><tr><th scope="col">Exercise</th><th scope="col">Attempts</th><th scope="col">Best score</th><th scope="col">Checks passed</th><th scope="col">Hints used</th></tr></thead>
              <tbody>${data.exercises.map(
                (e) =>
                  html`<tr data-exercise=${e.slug}><th scope="row">${e.title}</th><td>${e.attempts}</td><td>${e.bestScore ?? '–'}</td><td>${e.checksTotal === null ? '–' : `${e.checksPassed} of ${e.checksTotal}`}</td><td>${e.hintsUsed}</td></tr>`
              )}</tbody></table>`
        }
      </section>
      <section aria-label="Estimation over time">
        <h2>Estimation ${mean !== null && html`<small data-estimation-mean=${mean}>(${mean}% on average)</small>`}</h2>
        ${
          data.estimation.length === 0
            ? html`<p class="hint">Predict before you simulate (Results tab) to see how well you estimate.</p>`
            : html`<ol class="estimation">${data.estimation.map(
                (e) =>
                  html`<li data-estimation=${e.score}><a href=${`#/w/${e.workspaceId}`}>${new Date(e.at).toLocaleString()}</a>: <strong>${e.score}%</strong></li>`
              )}</ol>`
        }
      </section>
    </main>
  `
}
