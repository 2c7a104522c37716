// Small pieces of the editor's screen: the save badges, the conflict banner, the legend, the notice
// that a change made elsewhere was merged in.
import { html } from 'htm/preact'
import { bandRange, UTILIZATION_BANDS } from '../../../../src/domain/format.ts'
import type { Problem } from '../../api.ts'
import type { SaveState } from '../../autosave.ts'
import { describeConflict } from '../../merge.ts'
import type { EditorState, Store } from '../../store.ts'
import type { Conflict } from './use-workspace.ts'

const SAVE_TEXT: Record<SaveState['kind'], string> = {
  saved: 'saved',
  pending: 'unsaved changes',
  saving: 'saving…',
  offline: 'offline, retrying',
  invalid: 'not saved: see the problems',
  conflict: 'changed elsewhere',
  failed: 'not saved'
}

export function SaveBadge(props: { label: string; state: SaveState }) {
  const { state } = props
  return html`<span class=${`save-badge save-${state.kind}`} role="status" data-save=${props.label.toLowerCase()}>${props.label}: ${SAVE_TEXT[state.kind]}${state.kind === 'failed' ? ` (${state.message})` : ''}</span>`
}

export function ConflictBanner(props: { conflict: Conflict; onResolve: (choice: 'theirs' | 'mine') => void }) {
  const what = props.conflict.what === 'design' ? 'design' : 'traffic profile'
  const fields = props.conflict.fields
  if (fields)
    return html`
      <div class="conflict" role="alertdialog" aria-labelledby="conflict-title">
        <p id="conflict-title"><strong>This design was changed in another tab or device too.</strong> Everything else is merged; ${fields.length === 1 ? 'this was' : 'these were'} changed on both sides:</p>
        <ul class="conflict-fields">${fields.map((c) => html`<li>${describeConflict(c)}</li>`)}</ul>
        <div class="conflict-actions">
          <button onClick=${() => props.onResolve('theirs')}>Take theirs</button>
          <button onClick=${() => props.onResolve('mine')}>Keep mine</button>
        </div>
      </div>
    `
  return html`
    <div class="conflict" role="alertdialog" aria-labelledby="conflict-title">
      <p id="conflict-title"><strong>This ${what} was changed in another tab or device</strong> (now version ${props.conflict.theirs.version}). Your edits here are not saved yet.</p>
      <div class="conflict-actions">
        <button onClick=${() => props.onResolve('theirs')}>Load the newer version</button>
        <button class="danger" onClick=${() => props.onResolve('mine')}>Keep mine (overwrite theirs)</button>
      </div>
    </div>
  `
}

/** The utilisation bands as the canvas colours them (the high ones hatched), and the bottleneck. */
export function Legend() {
  return html`
    <div class="legend" aria-label="Utilisation legend">
      ${[...UTILIZATION_BANDS]
        .reverse()
        .map(
          ({ band }) =>
            html`<span><i class=${`swatch band-${band}`}></i>${bandRange(band)}${band === 'high' ? ' (hatched)' : ''}</span>`
        )}
      <span><i class="swatch bottleneck-swatch"></i>bottleneck</span>
    </div>
  `
}

/** Undo and redo, as buttons (the keys are the editor's: Ctrl/Cmd+Z, Shift+Ctrl/Cmd+Z). */
export function UndoRedo(props: { store: Store; state: EditorState }) {
  const { store, state } = props
  return html`
    <span class="undo-redo" role="group" aria-label="History">
      <button type="button" onClick=${store.undo} disabled=${state.past.length === 0} aria-keyshortcuts="Control+Z Meta+Z" title="Undo (Ctrl+Z)">Undo</button>
      <button type="button" onClick=${store.redo} disabled=${state.future.length === 0} aria-keyshortcuts="Control+Shift+Z Meta+Shift+Z Control+Y" title="Redo (Shift+Ctrl+Z)">Redo</button>
    </span>
  `
}

/** What the api refused of the design or of the traffic profile, named as such. */
export function NotSaved(props: { what: 'design' | 'traffic profile'; problems: Problem[]; onShow?: () => void }) {
  if (props.problems.length === 0) return null
  return html`
    <div class="problems" role="alert" data-not-saved=${props.what}>
      <strong>The ${props.what} is not saved:</strong>
      <ul>${props.problems.map((p) => html`<li>${p.message}</li>`)}</ul>
      ${props.onShow && html`<button type="button" class="linkish" onClick=${props.onShow}>Show the ${props.what}</button>`}
    </div>
  `
}

/** Says a change saved in another tab was taken in (polite: it does not interrupt). */
export function MergedNotice(props: { notice: string | null; onDismiss: () => void }) {
  if (!props.notice) return null
  return html`<div class="merged-notice" role="status" data-merged>${props.notice} <button type="button" class="linkish" onClick=${props.onDismiss}>OK</button></div>`
}
