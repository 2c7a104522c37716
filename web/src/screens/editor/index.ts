// A workspace: the palette, the canvas and a side panel (properties, traffic, results, grade,
// runs). The design, the selection and the undo history live in the editor's store
// (web/src/store.ts); this screen renders them and dispatches what the learner does.
import { html } from 'htm/preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { latencyText, percent } from '../../../../src/domain/format.ts'
import type { DesignPatch } from '../../../../src/domain/patch.ts'
import type { Predictions } from '../../../../src/domain/resources.ts'
import type { DesignPreview, StoredComponentResult } from '../../../../src/domain/schemas.ts'
import { workspaces } from '../../api.ts'
import { ApiError } from '../../api-error.ts'
import { catalogue } from '../../catalogue.ts'
import { createStore, type EditorState, type Selection, type Store } from '../../store.ts'
import { useHeadingFocus } from '../../ui/focus.ts'
import { TabPanel, Tabs } from '../../ui/tabs.ts'
import { applyWhatIf, describeFailure, failureFor, isActive, NO_WHAT_IF, type WhatIf } from '../../what-if.ts'
import { Canvas, DesignOutline, fitZoom, ZOOM_MAX, ZOOM_MIN, zoomBy } from './canvas.ts'
import { modelledKey, PredictForm } from './coach.ts'
import { ComponentForm } from './component-form.ts'
import { ExercisePanel, useAttempt } from './exercise.ts'
import { Exports } from './exports.ts'
import { LinkForm } from './link-form.ts'
import { Palette } from './palette.ts'
import { ConflictBanner, Legend, MergedNotice, NotSaved, SaveBadge, UndoRedo } from './parts.ts'
import { GradePanel, ResultsPanel, RunsPanel } from './results.ts'
import { ShareMenu } from './share.ts'
import { TrafficForm } from './traffic-form.ts'
import { useRuns } from './use-runs.ts'
import { useWorkspace } from './use-workspace.ts'
import { WhatIfPanel } from './what-if.ts'

type Tab = 'properties' | 'traffic' | 'results' | 'grade' | 'runs' | 'what-if'
const TABS: Tab[] = ['properties', 'traffic', 'results', 'grade', 'what-if', 'runs']

/**
 * A preview asked again while its answer is transient (every preview thread busy, no answer): a
 * few times, a second more apart each, until `signal` says the design it was for has changed.
 */
async function untilAnswered<T>(ask: () => Promise<T>, signal: AbortSignal, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask()
    } catch (err) {
      if (attempt >= tries || signal.aborted || !(err instanceof ApiError && err.transient)) throw err
      await new Promise((resolve) => setTimeout(resolve, attempt * 1000))
    }
  }
}

/** A what-if's figures in a line over the canvas: its p95, its errors and what is down. */
function whatIfSummary(p: DesignPreview): string {
  const o = p.outage
  const served =
    o && o.failingShare >= 1
      ? 'no request served'
      : `≈ p95 ${latencyText(p.overall.p95, p.overall.overload?.queueGrowthRps ?? 0)}`
  return [served, `errors ${percent(p.overall.errorRate)}`, o ? `${o.down.join(', ')} down` : '']
    .filter(Boolean)
    .join(' · ')
}

/** The store's state, rendered again at each change. */
function useEditorState(store: Store): EditorState {
  const [state, setState] = useState(store.getState())
  useEffect(() => store.subscribe(setState), [store])
  return state
}

export function Editor(props: { id: string }) {
  const [store] = useState(() => createStore(catalogue))
  const editorState = useEditorState(store)
  const { design, selection } = editorState
  const ws = useWorkspace(props.id, store, catalogue)
  const runs = useRuns(props.id)
  const attempt = useAttempt(props.id)
  const [tab, setTab] = useState<Tab>('properties')
  const [highlight, setHighlight] = useState<Set<string>>(new Set())
  const [preview, setPreview] = useState<DesignPreview | null>(null)
  const [zoom, setZoom] = useState(1)
  const [predictions, setPredictions] = useState<Predictions>({})
  /** What the model read of the design when the shown run was made (or opened while current). */
  const [runDesign, setRunDesign] = useState<string | null>(null)
  const canvasWrap = useRef<HTMLDivElement>(null)
  /** A what-if: another load, something lost; previewed, never saved. */
  const [whatIf, setWhatIf] = useState<WhatIf>(NO_WHAT_IF)
  const [failMode, setFailMode] = useState(false)
  const [whatIfPreview, setWhatIfPreview] = useState<DesignPreview | null>(null)
  const [whatIfError, setWhatIfError] = useState<string | null>(null)
  const { dispatch } = store
  const select = (s: Selection) => dispatch({ type: 'select', selection: s })
  const heading = useHeadingFocus(ws.workspace !== null && ws.profile !== null)
  /** Selects a component and takes the focus to its form's first field (Enter on the canvas). */
  const focusForm = () =>
    setTimeout(() =>
      document.querySelector<HTMLElement>('#editor-panel form input, #editor-panel form select')?.focus()
    )
  const openForm = (id: string) => {
    select({ kind: 'component', id })
    setTab('properties')
    focusForm()
  }

  // Quick feedback while editing: each saved change is previewed (analytic, no job), a moment later.
  useEffect(() => {
    if (ws.designState.kind !== 'saved' || ws.profileState.kind !== 'saved' || !ws.workspace) return
    const stop = new AbortController()
    const timer = setTimeout(() => {
      untilAnswered(() => workspaces.preview(props.id), stop.signal)
        .then(({ data }) => {
          if (!stop.signal.aborted) setPreview(data)
        })
        // Past the preview budget (or offline) the last preview stays up: it is only a hint.
        .catch(() => {})
    }, 400)
    return () => {
      stop.abort()
      clearTimeout(timer)
    }
  }, [ws.designState.kind, ws.profileState.kind, ws.workspace, design, ws.profile])

  // A what-if is previewed as it changes (the design and traffic it makes go in the request only).
  const whatIfActive = isActive(whatIf)
  const applied = useMemo(
    () => (ws.profile && whatIfActive ? applyWhatIf(design, ws.profile, whatIf) : null),
    [design, ws.profile, whatIf]
  )
  useEffect(() => {
    if (!applied) {
      setWhatIfPreview(null)
      setWhatIfError(null)
      return
    }
    const stop = new AbortController()
    const timer = setTimeout(() => {
      untilAnswered(
        () =>
          workspaces.previewOf(props.id, {
            design: applied.design,
            trafficProfile: applied.traffic,
            ...(applied.down.length > 0 ? { down: applied.down } : {})
          }),
        stop.signal
      )
        .then(({ data }) => {
          if (stop.signal.aborted) return
          setWhatIfPreview(data)
          setWhatIfError(null)
        })
        .catch((err) => {
          if (!stop.signal.aborted) setWhatIfError(err instanceof Error ? err.message : String(err))
        })
    }, 250)
    return () => {
      stop.abort()
      clearTimeout(timer)
    }
  }, [applied])

  // Delete removes the selection and Escape clears it, wherever the focus is but in a form field;
  // Ctrl/Cmd+Z undoes and Shift+Ctrl/Cmd+Z (or Ctrl+Y) redoes (a field keeps its own text undo).
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null
      if (event.defaultPrevented || target?.closest('input, select, textarea, [contenteditable]')) return
      const key = event.key.toLowerCase()
      if ((event.ctrlKey || event.metaKey) && !event.altKey && (key === 'z' || key === 'y')) {
        event.preventDefault()
        if (key === 'y' || event.shiftKey) store.redo()
        else store.undo()
      } else if ((event.key === 'Delete' || event.key === 'Backspace') && store.getState().selection) {
        event.preventDefault()
        dispatch({ type: 'delete' })
      } else if (event.key === 'Escape') dispatch({ type: 'select', selection: null })
    }
    addEventListener('keydown', listener)
    return () => removeEventListener('keydown', listener)
  }, [store])

  const zoomIn = () => setZoom(zoomBy(zoom, 1))
  const zoomOut = () => setZoom(zoomBy(zoom, -1))
  const actualSize = () => setZoom(1)
  const fit = () => {
    const box = canvasWrap.current
    if (box) setZoom(fitZoom(design, { width: box.clientWidth, height: box.clientHeight }))
  }
  // Zoom keys act while the focus is on the canvas or its tools only: single-character shortcuts
  // that work anywhere would fire while a screen reader user types or navigates (WCAG 2.1.4).
  const zoomKeys: Record<string, () => void> = { '+': zoomIn, '=': zoomIn, '-': zoomOut, '0': actualSize, f: fit }
  const onZoomKey = (event: KeyboardEvent) => {
    const act = zoomKeys[event.key.toLowerCase()]
    if (!act || event.ctrlKey || event.metaKey || event.altKey) return
    event.preventDefault()
    act()
  }

  const { run, grade } = runs
  // A run opened or finished while current records the design it stands for; an edit since marks it old.
  useEffect(() => {
    if (run?.status === 'completed' && (run.staleBecause ?? []).length === 0) setRunDesign(modelledKey(design))
    else setRunDesign(null)
  }, [run?.id, run?.status])
  const stale = [
    ...(run?.staleBecause ?? []),
    ...(runDesign !== null && runDesign !== modelledKey(design) && !(run?.staleBecause ?? []).includes('design')
      ? ['design']
      : [])
  ]
  const results = useMemo(
    () => (run?.result ? new Map<string, StoredComponentResult>(run.result.components.map((c) => [c.id, c])) : null),
    [run]
  )
  const whatIfResults = useMemo(
    () =>
      whatIfActive && whatIfPreview
        ? new Map<string, StoredComponentResult>(whatIfPreview.components.map((c) => [c.id, c]))
        : null,
    [whatIfActive, whatIfPreview]
  )
  const shownPreview = whatIfActive ? whatIfPreview : preview
  const linkRates = useMemo(
    () => new Map((shownPreview?.links ?? []).map((l) => [`${l.from}->${l.to}`, l.rps])),
    [shownPreview]
  )
  const showResults = () => {
    setHighlight(new Set())
    setTab('results')
  }

  if (ws.loadError)
    return html`<main class="page"><p class="error" role="alert">${ws.loadError}</p><a href="#/">Back to workspaces</a></main>`
  if (!ws.workspace || !ws.profile) return html`<main class="page"><p aria-busy="true">Loading…</p></main>`

  const selected = selection?.kind === 'component' ? design.components.find((c) => c.id === selection.id) : undefined
  const selectedLink = selection?.kind === 'link' ? design.links[selection.index] : undefined
  const { problems } = ws

  return html`
    <div class="editor">
      <header class="editor-bar">
        <a href="#/" class="back">← Workspaces</a>
        <h1 class="ws-name" tabindex="-1" ref=${heading}>${ws.workspace.name}</h1>
        <${SaveBadge} label="Design" state=${ws.designState} />
        <${SaveBadge} label="Traffic" state=${ws.profileState} />
        ${preview && html`<span class="preview" role="status" data-preview title="An analytic preview of the saved design (no job)">≈ p95 ${latencyText(preview.overall.p95, preview.overall.overload?.queueGrowthRps ?? 0)} · busiest ${Math.round(Math.max(0, ...preview.components.map((c) => c.utilization)) * 100)}% · $${preview.cost.perMonth}/mo</span>`}
        <div class="bar-actions">
          <${UndoRedo} store=${store} state=${editorState} />
          <button class="primary" onClick=${() => {
            showResults()
            const made = Object.keys(predictions).length > 0 ? predictions : undefined
            setPredictions({})
            void runs.simulate(ws.whenSaved, made)
          }} disabled=${runs.busy}>${runs.busy ? 'Simulating…' : 'Simulate'}</button>
          <button onClick=${() => {
            setTab('grade')
            void runs.gradeRun()
          }} disabled=${!run?.id || run.status !== 'completed' || runs.grading}>Grade</button>
          <${Exports} workspaceId=${props.id} />
          <${ShareMenu} workspaceId=${props.id} name=${ws.workspace.name} design=${design} />
        </div>
      </header>
      ${ws.conflict && html`<${ConflictBanner} conflict=${ws.conflict} onResolve=${ws.resolveConflict} />`}
      <${MergedNotice} notice=${ws.notice} onDismiss=${ws.dismissNotice} />
      <${NotSaved} what="design" problems=${problems.general} />
      ${tab !== 'traffic' && html`<${NotSaved} what="traffic profile" problems=${ws.profileProblems} onShow=${() => setTab('traffic')} />`}
      <div class="workbench">
        <${Palette} catalogue=${catalogue} dispatch=${dispatch} onAdded=${() => setTab('properties')} />
        <div class="canvas-area" onKeyDown=${onZoomKey}>
        <div class="canvas-tools" role="group" aria-label="Zoom">
          <button onClick=${zoomOut} disabled=${zoom <= ZOOM_MIN} aria-label="Zoom out" aria-keyshortcuts="-" title="Zoom out (−)">−</button>
          <button onClick=${actualSize} aria-label=${`Zoom ${Math.round(zoom * 100)}%: back to actual size`} aria-keyshortcuts="0" title="Actual size (0)">${Math.round(zoom * 100)}%</button>
          <button onClick=${zoomIn} disabled=${zoom >= ZOOM_MAX} aria-label="Zoom in" aria-keyshortcuts="+" title="Zoom in (+)">+</button>
          <button onClick=${fit} aria-keyshortcuts="f" title="Show the whole design (F)">Fit</button>
          <button onClick=${() => dispatch({ type: 'tidy' })} title="Lay the design out again: layers left to right, no link under a component">Tidy</button>
        </div>
        ${
          whatIfActive &&
          html`<div class="what-if-banner" role="status" data-what-if>What-if, not saved, not graded: ${[
            whatIf.multiplier !== 1 ? `${whatIf.multiplier}× peak` : '',
            ...whatIf.failures.map(describeFailure)
          ]
            .filter(Boolean)
            .join(', ')}.${
            whatIfPreview && html` <strong data-what-if-summary>${whatIfSummary(whatIfPreview)}</strong>.`
          } <button type="button" class="linkish" onClick=${() => setWhatIf(NO_WHAT_IF)}>Back to the design as it is</button></div>`
        }
        <div class=${`canvas-wrap${whatIfActive ? ' what-if' : ''}`} ref=${canvasWrap}>
          <${Canvas}
            design=${attempt.showing ?? design}
            catalogue=${catalogue}
            selection=${attempt.showing ? null : selection}
            results=${attempt.showing ? null : whatIfActive ? whatIfResults : stale.length > 0 ? null : results}
            bottleneck=${attempt.showing ? null : whatIfActive ? (whatIfPreview?.overall.bottleneck ?? null) : stale.length > 0 ? null : (run?.result?.overall.bottleneck ?? null)}
            linkRates=${attempt.showing ? undefined : linkRates}
            down=${new Set(applied?.down ?? [])}
            highlight=${highlight}
            problemIds=${new Set(problems.byComponent.keys())}
            readOnly=${attempt.showing !== null}
            onSelect=${(s: Selection) => {
              // Click-to-fail: in the what-if's fail mode a click loses part of a component instead,
              // of what the what-if left of it (a database's primary, then its promoted replica).
              const clicked =
                s?.kind === 'component' ? (applied?.design ?? design).components.find((c) => c.id === s.id) : undefined
              if (failMode && tab === 'what-if' && clicked && clicked.type !== 'client') {
                if (!applied?.down.includes(clicked.id))
                  setWhatIf({ ...whatIf, failures: [...whatIf.failures, failureFor(clicked)] })
                return
              }
              select(s)
              if (s) setTab('properties')
            }}
            onMove=${(id: string, x: number, y: number, gesture?: string) => dispatch({ type: 'move', id, x, y, gesture })}
            onConnect=${(from: string, to: string) => {
              dispatch({ type: 'connect', from, to })
              setTab('properties')
            }}
            onOpen=${openForm}
            onDelete=${(id: string) => {
              select({ kind: 'component', id })
              dispatch({ type: 'delete' })
            }}
            zoom=${zoom}
          />
        </div>
        <${DesignOutline} design=${design} catalogue=${catalogue} />
        ${results && html`<${Legend} />`}
        </div>
        <aside class="side" aria-label="Details">
          <${ExercisePanel} state=${attempt} run=${run} />
          <${Tabs} id="editor" tabs=${TABS} selected=${tab} onSelect=${setTab} label=${(t: Tab) => t[0].toUpperCase() + t.slice(1)} />
          <${TabPanel} id="editor" selected=${tab} focusable=${true}>
            ${
              tab === 'properties' &&
              selected &&
              html`<${ComponentForm} key=${selected.id} component=${selected} design=${design} catalogue=${catalogue} problems=${problems.byComponent.get(selected.id) ?? []} dispatch=${dispatch} onSelectLink=${(
                index: number
              ) => {
                select({ kind: 'link', index })
                focusForm()
              }} />`
            }
            ${tab === 'properties' && selectedLink && selection?.kind === 'link' && html`<${LinkForm} link=${selectedLink} index=${selection.index} problems=${problems.byLink.get(`${selectedLink.from}->${selectedLink.to}`) ?? []} dispatch=${dispatch} />`}
            ${tab === 'properties' && !selected && !selectedLink && html`<p class="hint">Add components from the palette, drag them into place, and drag from the round handle on a component’s right edge to another to link them. Select one to edit it.</p><p class="hint">By keyboard: Tab to the canvas, the arrow keys go from component to component, Enter opens one, Shift+arrows move it, L and then Enter on another links them, Delete removes it; Ctrl+Z undoes.</p>`}
            ${tab === 'traffic' && html`<${TrafficForm} profile=${ws.profile} problems=${ws.profileProblems} onChange=${ws.changeProfile} />`}
            ${tab === 'results' && html`<${PredictForm} componentIds=${design.components.filter((c) => c.type !== 'client').map((c) => c.id)} value=${predictions} onChange=${setPredictions} />`}
            ${tab === 'results' && html`<${ResultsPanel} run=${run} error=${runs.runError} slo=${ws.profile.latencySloMs} stale=${stale} />`}
            ${tab === 'grade' && html`<${GradePanel} grade=${grade} onSelectItem=${(ids: string[]) => setHighlight(new Set(ids))} onApply=${(patch: DesignPatch) => dispatch({ type: 'apply', patch })} stale=${stale} />`}
            ${
              tab === 'what-if' &&
              html`<${WhatIfPanel} design=${design} whatIf=${whatIf} onChange=${setWhatIf} failMode=${failMode} onFailMode=${setFailMode}
                preview=${whatIfPreview} down=${applied?.down ?? []} error=${whatIfError} slo=${ws.profile.latencySloMs} peak=${ws.profile.peakRps}
                sweep=${run?.result?.analysis && stale.length === 0 ? { sweep: run.result.analysis.sweep, breakRps: run.result.analysis.sloBreakRps } : null} />`
            }
            ${
              tab === 'runs' &&
              html`<${RunsPanel} workspaceId=${props.id} refresh=${runs.made} currentId=${run?.id ?? null} onOpen=${async (
                id: string
              ) => {
                await runs.open(id)
                showResults()
              }} />`
            }
          <//>
        </aside>
      </div>
    </div>
  `
}
