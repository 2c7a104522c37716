// An exercise attempt in the editor: the problem, each check's required figure and (after a run)
// its measured one, green or red; a Hint with its cost, Submit, and the reference solution,
// drawn read-only on the canvas once it may be seen.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import type { Attempt, ExerciseDetail, GradeReport, Reference } from '../../../../src/domain/resources.ts'
import type { Check, DesignDocument } from '../../../../src/domain/schemas.ts'
import { exercises, runs } from '../../api.ts'
import { requirementRows } from '../exercises.ts'
import type { RunView } from './results.ts'

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

export interface AttemptState {
  attempt: Attempt | null
  exercise: ExerciseDetail | null
  /** The reference design while it is shown on the canvas (read-only), else null. */
  showing: DesignDocument | null
  reference: Reference | null
  grade: GradeReport | null
  message: string | null
  busy: boolean
  hint(): Promise<void>
  submit(): Promise<void>
  giveUp(): Promise<void>
  toggleReference(): Promise<void>
}

/** The attempt a workspace is, or nothing (`attempt` stays null) when it is a plain workspace. */
export function useAttempt(workspaceId: string): AttemptState {
  const [attempt, setAttempt] = useState<Attempt | null>(null)
  const [exercise, setExercise] = useState<ExerciseDetail | null>(null)
  const [reference, setReference] = useState<Reference | null>(null)
  const [showing, setShowing] = useState<DesignDocument | null>(null)
  const [grade, setGrade] = useState<GradeReport | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function reload() {
    try {
      const { data } = await exercises.attempt(workspaceId)
      // A plain workspace: no panel.
      if (!data.attempt) return
      setAttempt(data.attempt)
      setExercise((await exercises.get(data.attempt.exerciseSlug)).data)
    } catch (err) {
      setMessage(messageOf(err))
    }
  }
  useEffect(() => void reload(), [workspaceId])

  async function act(what: () => Promise<void>) {
    setBusy(true)
    setMessage(null)
    try {
      await what()
    } catch (err) {
      setMessage(messageOf(err))
    } finally {
      setBusy(false)
    }
  }

  return {
    attempt,
    exercise,
    showing,
    reference,
    grade,
    message,
    busy,
    hint: () =>
      act(async () => {
        await exercises.hint(workspaceId)
        await reload()
      }),
    submit: () =>
      act(async () => {
        const { data } = await exercises.submit(workspaceId)
        const done = await runs.pollGrade(`/grades/${data.gradeId}`, setGrade)
        if (done.status === 'failed') setMessage(done.error ?? 'The grade failed.')
        await reload()
      }),
    giveUp: () =>
      act(async () => {
        if (!confirm('Give up this attempt and see the reference solution?')) return
        await exercises.giveUp(workspaceId)
        await reload()
      }),
    toggleReference: () =>
      act(async () => {
        if (showing) return setShowing(null)
        const ref = reference ?? (attempt ? (await exercises.reference(attempt.exerciseSlug)).data : null)
        setReference(ref)
        setShowing(ref?.design ?? null)
      })
  }
}

const num = (x: number) => (Math.round(x * 100) / 100).toLocaleString('en')
/** A check's figure in its unit. */
function figure(c: Pick<Check, 'id' | 'unit' | 'passed' | 'applies'>, x: number | null): string {
  // Nothing measured: a drill with nothing to lose (its detail says why), an outage, or a latency without bound.
  if (c.applies === false) return 'does not apply'
  if (x === null) return c.id.startsWith('drill_') ? 'an outage' : 'unbounded'
  if (c.unit === 'ms') return `${num(x)} ms`
  if (c.unit === 'usd_per_month') return `$${num(x)}/mo`
  return `${Math.round(x * 1e6) / 1e4}%`
}

export function ExercisePanel(props: { state: AttemptState; run: RunView | null }) {
  const { attempt, exercise, grade } = props.state
  if (!attempt || !exercise) return null
  const checks = (props.run?.status === 'completed' && props.run.result?.checks) || null
  const byId = new Map((checks ?? []).map((c) => [c.id, c]))
  const passed = checks?.filter((c) => c.passed).length ?? 0
  const nextCost = exercise.hintCosts[exercise.hintCosts.length - attempt.hintsLeft]
  const canSeeReference = exercise.referenceAvailable || attempt.givenUpAt !== null || grade?.status === 'completed'
  return html`
    <section class="exercise-panel" aria-labelledby="exercise-title">
      <h2 id="exercise-title">${exercise.title}</h2>
      <details>
        <summary>The problem</summary>
        <p>${exercise.statement}</p>
        <p class="hint">Peak: ${exercise.requirements.peakEstimate}.</p>
      </details>
      <table class="checks" aria-label="Requirements">
        <thead><tr><th scope="col">Required</th><th scope="col">Measured</th></tr></thead>
        <tbody>
          ${requirementRows(exercise.requirements).map((row) => {
            const c = byId.get(row.id)
            return html`
              <tr data-check=${row.id} class=${c ? (c.passed ? 'check-pass' : 'check-fail') : ''}>
                <th scope="row">${row.text}</th>
                <td title=${c?.detail ?? 'simulate to measure'}>
                  ${c ? html`<span class="mark" aria-hidden="true">${c.passed ? '✓' : '✗'}</span> ${c.passed ? 'passed' : c.applies === false ? 'not passed' : 'failed'}: ${figure(c, c.measured)}` : '—'}
                  ${c && !c.passed && html`<div class="check-detail">${c.detail}</div>`}
                </td>
              </tr>
            `
          })}
        </tbody>
      </table>
      <p role="status" class="checks-summary">
        ${checks ? `${passed} of ${checks.length} checks pass.` : 'Simulate to measure each check.'}
      </p>
      ${
        attempt.hints.length > 0 &&
        html`
        <ol class="hints" aria-label="Hints taken">
          ${attempt.hints.map((h) => html`<li>${h.text} <span class="hint">(−${h.cost} points)</span></li>`)}
        </ol>`
      }
      <div class="exercise-actions">
        <button type="button" onClick=${props.state.hint} disabled=${props.state.busy || attempt.hintsLeft === 0}>
          ${attempt.hintsLeft === 0 ? 'No hints left' : `Hint (−${nextCost} points)`}
        </button>
        <button type="button" class="primary" onClick=${props.state.submit} disabled=${props.state.busy || props.run?.status !== 'completed'}>Submit</button>
        ${
          canSeeReference &&
          html`<button type="button" onClick=${props.state.toggleReference} aria-pressed=${props.state.showing !== null}>
          ${props.state.showing ? 'Back to my design' : 'Show the reference'}</button>`
        }
        ${!canSeeReference && html`<button type="button" class="link" onClick=${props.state.giveUp} disabled=${props.state.busy}>Give up</button>`}
      </div>
      ${attempt.hintPoints > 0 && html`<p class="hint">Hints so far cost ${attempt.hintPoints} points off the grade.</p>`}
      ${
        grade &&
        html`<p role="status" class="submitted">${
          grade.status === 'completed'
            ? `Submitted: ${grade.checks?.filter((c) => c.passed).length ?? 0} of ${grade.checks?.length ?? 0} checks pass; score ${grade.score}/100${grade.hintPoints ? ` (${grade.hintPoints} points off for hints)` : ''}.`
            : grade.status === 'failed'
              ? 'The grade failed.'
              : 'Submitted: grading…'
        }</p>`
      }
      ${props.state.showing && props.state.reference && html`<p class="notice reference-note" role="status">The reference solution, read-only: ${props.state.reference.explanation}</p>`}
      ${props.state.message && html`<p class="error" role="alert">${props.state.message}</p>`}
    </section>
  `
}
