// A workspace: the palette, the canvas and a side panel (properties, traffic, results, grade,
// runs), autosaved as the learner works.
import { html } from 'htm/preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { ms } from '../../src/domain/format.ts'
import { ApiError, api, type Problem, poll } from './api.ts'
import { Autosaver, type SaveState } from './autosave.ts'
import { Canvas, fitZoom, type Selection, ZOOM_MAX, ZOOM_MIN, zoomBy } from './canvas.ts'
import { Exports } from './exports.ts'
import {
  type Component,
  type ComponentResult,
  type Design,
  freeSlot,
  freshId,
  type Grade,
  ICONS,
  LABELS,
  newComponent,
  type Preview,
  type Run,
  rebalance,
  type TrafficProfile,
  TYPES,
  type Workspace,
  withLayout
} from './model.ts'
import { NumberInput, numberOrUndefined } from './number-input.ts'
import { GradePanel, ResultsPanel, RunsPanel } from './results.ts'

type Tab = 'properties' | 'traffic' | 'results' | 'grade' | 'runs'

interface Conflict {
  what: 'design' | 'traffic'
  theirs: Workspace | (TrafficProfile & { version: number })
}

/** A 422's problems, keyed by what they name in the design that was sent. */
export interface PlacedProblems {
  byComponent: Map<string, Problem[]>
  byLink: Map<string, Problem[]>
  general: Problem[]
}

function placeProblems(problems: Problem[], sent: Design): PlacedProblems {
  const placed: PlacedProblems = { byComponent: new Map(), byLink: new Map(), general: [] }
  for (const p of problems) {
    const component = /^\/components\/(\d+)/.exec(p.path)
    const link = /^\/links\/(\d+)/.exec(p.path)
    if (component && sent.components[Number(component[1])]) {
      const id = sent.components[Number(component[1])].id
      placed.byComponent.set(id, [...(placed.byComponent.get(id) ?? []), p])
    } else if (link && sent.links[Number(link[1])]) {
      const l = sent.links[Number(link[1])]
      const key = `${l.from}->${l.to}`
      placed.byLink.set(key, [...(placed.byLink.get(key) ?? []), p])
    } else placed.general.push(p)
  }
  return placed
}

const NO_PROBLEMS: PlacedProblems = { byComponent: new Map(), byLink: new Map(), general: [] }

export function Editor(props: { id: string }) {
  const [workspace, setWorkspace] = useState<Workspace | null>(null)
  const [loadError, setLoadError] = useState<string | null>(null)
  const [design, setDesign] = useState<Design>({ components: [], links: [] })
  const [profile, setProfile] = useState<TrafficProfile | null>(null)
  const [designState, setDesignState] = useState<SaveState>({ kind: 'saved' })
  const [profileState, setProfileState] = useState<SaveState>({ kind: 'saved' })
  const [problems, setProblems] = useState<PlacedProblems>(NO_PROBLEMS)
  const [selection, setSelection] = useState<Selection>(null)
  const [tab, setTab] = useState<Tab>('properties')
  const [conflict, setConflict] = useState<Conflict | null>(null)
  const [run, setRun] = useState<Run | null>(null)
  const [runError, setRunError] = useState<string | null>(null)
  const [grade, setGrade] = useState<Grade | null>(null)
  const [highlight, setHighlight] = useState<Set<string>>(new Set())
  const [runsVersion, setRunsVersion] = useState(0)
  const [preview, setPreview] = useState<Preview | null>(null)
  const [zoom, setZoom] = useState(1)
  const canvasWrap = useRef<HTMLDivElement>(null)
  const designSaver = useRef<Autosaver<Design> | null>(null)
  const profileSaver = useRef<Autosaver<TrafficProfile> | null>(null)
  const wsPath = `/workspaces/${props.id}`

  useEffect(() => {
    let live = true
    Promise.all([
      api<Workspace>('GET', wsPath),
      api<TrafficProfile & { version: number }>('GET', `${wsPath}/traffic-profile`)
    ])
      .then(([ws, traffic]) => {
        if (!live) return
        setWorkspace(ws.data)
        setDesign(withLayout(ws.data.design))
        const { version: trafficVersion, ...rest } = traffic.data
        setProfile(pickProfile(rest))
        designSaver.current = new Autosaver<Design>(ws.data.version, {
          save: async (value, version) => {
            const { data } = await api<Workspace>('PATCH', wsPath, { version, design: value })
            return data.version
          },
          onState: (state) => {
            setDesignState(state)
            if (state.kind === 'invalid') setProblems(placeProblems(state.problems, state.sent as Design))
            else if (state.kind === 'saved') setProblems(NO_PROBLEMS)
            else if (state.kind === 'conflict')
              void api<Workspace>('GET', wsPath).then(({ data }) => setConflict({ what: 'design', theirs: data }))
          }
        })
        profileSaver.current = new Autosaver<TrafficProfile>(trafficVersion, {
          save: async (value, version) => {
            const { data } = await api<{ version: number }>('PATCH', `${wsPath}/traffic-profile`, { version, ...value })
            return data.version
          },
          onState: (state) => {
            setProfileState(state)
            if (state.kind === 'conflict')
              void api<TrafficProfile & { version: number }>('GET', `${wsPath}/traffic-profile`).then(({ data }) =>
                setConflict({ what: 'traffic', theirs: data })
              )
          }
        })
        // The newest completed run, drawn on the canvas straight away.
        return api<{ items: Run[] }>('GET', `${wsPath}/simulations?limit=1`).then(({ data }) => {
          const last = data.items[0]
          if (live && last?.status === 'completed')
            return api<Run>('GET', `/simulations/${last.id}`).then((r) => live && setRun(r.data))
        })
      })
      .catch(
        (err) =>
          live &&
          setLoadError(
            err instanceof ApiError && err.status === 404 ? 'No such workspace.' : String(err.message ?? err)
          )
      )
    const beforeUnload = (event: BeforeUnloadEvent) => {
      if (designSaver.current?.hasUnsaved || profileSaver.current?.hasUnsaved) event.preventDefault()
    }
    addEventListener('beforeunload', beforeUnload)
    return () => {
      live = false
      removeEventListener('beforeunload', beforeUnload)
      designSaver.current?.flush()
      profileSaver.current?.flush()
    }
  }, [props.id])

  // Quick feedback while editing: each saved change is previewed (analytic, no job), a moment later.
  useEffect(() => {
    if (designState.kind !== 'saved' || profileState.kind !== 'saved' || !workspace) return
    const timer = setTimeout(() => {
      api<Preview>('POST', `${wsPath}/preview`, {})
        .then(({ data }) => setPreview(data))
        // Past the preview budget (or offline) the last preview stays up: it is only a hint.
        .catch(() => {})
    }, 400)
    return () => clearTimeout(timer)
  }, [designState.kind, profileState.kind, workspace, design, profile])

  // Delete removes the selection and Escape clears it, wherever the focus is but in a form field.
  // The handler is replaced at each render, not in an effect: effects run a frame after the page
  // shows a new selection, and a key pressed in that frame would act on the old one.
  const onKey = useRef<(event: KeyboardEvent) => void>(() => {})
  onKey.current = (event) => {
    const target = event.target as HTMLElement | null
    if (target?.closest('input, select, textarea, [contenteditable]')) return
    if ((event.key === 'Delete' || event.key === 'Backspace') && selection) {
      event.preventDefault()
      deleteSelection()
    } else if (event.key === 'Escape') setSelection(null)
  }
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onKey.current(event)
    addEventListener('keydown', listener)
    return () => removeEventListener('keydown', listener)
  }, [])

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

  const results = useMemo(
    () => (run?.result ? new Map<string, ComponentResult>(run.result.components.map((c) => [c.id, c])) : null),
    [run]
  )

  function edit(next: Design) {
    setDesign(next)
    designSaver.current?.change(next)
  }

  function addComponent(type: (typeof TYPES)[number]) {
    const id = freshId(design, type)
    const { x, y } = freeSlot(design)
    const c = newComponent(type, id, x, y)
    edit({ ...design, components: [...design.components, c] })
    setSelection({ kind: 'component', id })
    setTab('properties')
  }

  function connect(from: string, to: string) {
    if (design.links.some((l) => l.from === from && l.to === to)) return
    edit(rebalance({ ...design, links: [...design.links, { from, to }] }, from))
    setSelection({ kind: 'link', index: design.links.length })
    setTab('properties')
  }

  function move(id: string, x: number, y: number) {
    edit({ ...design, components: design.components.map((c) => (c.id === id ? { ...c, x, y } : c)) })
  }

  function deleteSelection() {
    if (selection?.kind === 'component') {
      const links = design.links.filter((l) => l.from !== selection.id && l.to !== selection.id)
      let next: Design = { components: design.components.filter((c) => c.id !== selection.id), links }
      for (const from of new Set(design.links.filter((l) => l.to === selection.id).map((l) => l.from)))
        next = rebalance(next, from)
      edit(next)
    } else if (selection?.kind === 'link') {
      const removed = design.links[selection.index]
      const next = { ...design, links: design.links.filter((_, i) => i !== selection.index) }
      edit(removed ? rebalance(next, removed.from) : next)
    }
    setSelection(null)
  }

  function updateComponent(id: string, patch: Partial<Component>) {
    let next: Design = {
      ...design,
      components: design.components.map((c) => (c.id === id ? clean({ ...c, ...patch }) : c))
    }
    if (patch.routing !== undefined) next = rebalance(next, id)
    edit(next)
  }

  function renameComponent(id: string, newId: string) {
    const rename = (x: string) => (x === id ? newId : x)
    edit({
      components: design.components.map((c) => (c.id === id ? { ...c, id: newId } : c)),
      links: design.links.map((l) => ({ ...l, from: rename(l.from), to: rename(l.to) }))
    })
    setSelection({ kind: 'component', id: newId })
  }

  function updateLink(index: number, patch: Partial<Design['links'][number]>) {
    edit({ ...design, links: design.links.map((l, i) => (i === index ? clean({ ...l, ...patch }) : l)) })
  }

  function changeProfile(next: TrafficProfile) {
    setProfile(next)
    profileSaver.current?.change(next)
  }

  function resolveConflict(choice: 'theirs' | 'mine') {
    if (!conflict) return
    if (conflict.what === 'design') {
      const theirs = conflict.theirs as Workspace
      if (choice === 'theirs') {
        designSaver.current?.adopt(theirs.version)
        setDesign(withLayout(theirs.design))
        setSelection(null)
      } else designSaver.current?.overwrite(theirs.version)
    } else {
      const { version, ...theirs } = conflict.theirs as TrafficProfile & { version: number }
      if (choice === 'theirs') {
        profileSaver.current?.adopt(version)
        setProfile(pickProfile(theirs))
      } else profileSaver.current?.overwrite(version)
    }
    setConflict(null)
  }

  async function simulate() {
    setRunError(null)
    setGrade(null)
    setHighlight(new Set())
    setTab('results')
    try {
      await Promise.all([designSaver.current?.whenSaved(), profileSaver.current?.whenSaved()])
      const { response } = await api<{ id: string }>('POST', `${wsPath}/simulations`, {})
      const location = response.headers.get('location') ?? ''
      setRun({ id: '', status: 'queued', error: null, createdAt: new Date().toISOString() })
      const done = await poll<Run>(location, setRun)
      if (done.status === 'failed') setRunError(done.error ?? 'The simulation failed.')
      setRunsVersion((v) => v + 1)
    } catch (err) {
      setRun(null)
      setRunError(err instanceof Error ? err.message : String(err))
    }
  }

  async function gradeRun() {
    if (!run?.id || run.status !== 'completed') return
    setTab('grade')
    try {
      const { response } = await api<{ id: string }>('POST', `/simulations/${run.id}/grade`, {})
      setGrade({ id: '', status: 'queued', score: null, items: null, rubricVersion: null, error: null })
      await poll<Grade>(response.headers.get('location') ?? '', setGrade)
      setRunsVersion((v) => v + 1)
    } catch (err) {
      setGrade({
        id: '',
        status: 'failed',
        score: null,
        items: null,
        rubricVersion: null,
        error: err instanceof Error ? err.message : String(err)
      })
    }
  }

  async function openRun(id: string) {
    const { data } = await api<Run>('GET', `/simulations/${id}`)
    setRun(data)
    setGrade(null)
    setHighlight(new Set())
    setTab('results')
  }

  if (loadError)
    return html`<main class="page"><p class="error" role="alert">${loadError}</p><a href="#/">Back to workspaces</a></main>`
  if (!workspace || !profile) return html`<main class="page"><p aria-busy="true">Loading…</p></main>`

  const selected = selection?.kind === 'component' ? design.components.find((c) => c.id === selection.id) : undefined
  const selectedLink = selection?.kind === 'link' ? design.links[selection.index] : undefined
  const busy = run !== null && (run.status === 'queued' || run.status === 'running')

  return html`
    <div class="editor">
      <header class="editor-bar">
        <a href="#/" class="back">← Workspaces</a>
        <h1 class="ws-name">${workspace.name}</h1>
        <${SaveBadge} label="Design" state=${designState} />
        <${SaveBadge} label="Traffic" state=${profileState} />
        ${preview && html`<span class="preview" role="status" data-preview title="An analytic preview of the saved design (no job)">≈ p95 ${ms(preview.overall.p95)} · busiest ${Math.round(Math.max(0, ...preview.components.map((c) => c.utilization)) * 100)}% · $${preview.cost.perMonth}/mo</span>`}
        <div class="bar-actions">
          <button class="primary" onClick=${simulate} disabled=${busy}>${busy ? 'Simulating…' : 'Simulate'}</button>
          <button onClick=${gradeRun} disabled=${!run?.id || run.status !== 'completed' || grade?.status === 'queued' || grade?.status === 'running'}>Grade</button>
          <${Exports} workspaceId=${props.id} />
        </div>
      </header>
      ${conflict && html`<${ConflictBanner} conflict=${conflict} onResolve=${resolveConflict} />`}
      ${
        problems.general.length > 0 &&
        html`<div class="problems" role="alert"><strong>Not saved:</strong><ul>${problems.general.map((p) => html`<li>${p.message}</li>`)}</ul></div>`
      }
      <div class="workbench">
        <nav class="palette" aria-label="Add a component">
          <h2>Add</h2>
          ${TYPES.map(
            (type) => html`
              <button class="palette-item" onClick=${() => addComponent(type)} aria-label=${`Add ${LABELS[type]}`} data-type=${type}>
                <svg viewBox="0 0 24 24" aria-hidden="true" class="palette-icon"><path d=${ICONS[type]} /></svg>
                <span>${LABELS[type]}</span>
              </button>
            `
          )}
        </nav>
        <div class="canvas-area" onKeyDown=${onZoomKey}>
        <div class="canvas-tools" role="group" aria-label="Zoom">
          <button onClick=${zoomOut} disabled=${zoom <= ZOOM_MIN} aria-label="Zoom out" aria-keyshortcuts="-" title="Zoom out (−)">−</button>
          <button onClick=${actualSize} aria-label=${`Zoom ${Math.round(zoom * 100)}%: back to actual size`} aria-keyshortcuts="0" title="Actual size (0)">${Math.round(zoom * 100)}%</button>
          <button onClick=${zoomIn} disabled=${zoom >= ZOOM_MAX} aria-label="Zoom in" aria-keyshortcuts="+" title="Zoom in (+)">+</button>
          <button onClick=${fit} aria-keyshortcuts="f" title="Show the whole design (F)">Fit</button>
        </div>
        <div class="canvas-wrap" ref=${canvasWrap}>
          <${Canvas}
            design=${design}
            selection=${selection}
            results=${results}
            bottleneck=${run?.result?.overall.bottleneck ?? null}
            highlight=${highlight}
            problemIds=${new Set(problems.byComponent.keys())}
            readOnly=${false}
            onSelect=${(s: Selection) => {
              setSelection(s)
              if (s) setTab('properties')
            }}
            onMove=${move}
            onConnect=${connect}
            zoom=${zoom}
          />
        </div>
        ${results && html`<${Legend} />`}
        </div>
        <aside class="side" aria-label="Details">
          <div class="tabs" role="tablist">
            ${(['properties', 'traffic', 'results', 'grade', 'runs'] as Tab[]).map(
              (t) =>
                html`<button role="tab" aria-selected=${tab === t} class=${tab === t ? 'tab active' : 'tab'} onClick=${() => setTab(t)}>${t[0].toUpperCase() + t.slice(1)}</button>`
            )}
          </div>
          <div class="tab-body" role="tabpanel">
            ${tab === 'properties' && selected && html`<${ComponentForm} key=${selected.id} component=${selected} design=${design} problems=${problems.byComponent.get(selected.id) ?? []} onChange=${updateComponent} onRename=${renameComponent} onConnect=${connect} onSelectLink=${(index: number) => setSelection({ kind: 'link', index })} onDelete=${deleteSelection} />`}
            ${tab === 'properties' && selectedLink && selection?.kind === 'link' && html`<${LinkForm} link=${selectedLink} index=${selection.index} design=${design} problems=${problems.byLink.get(`${selectedLink.from}->${selectedLink.to}`) ?? []} onChange=${updateLink} onDelete=${deleteSelection} />`}
            ${tab === 'properties' && !selected && !selectedLink && html`<p class="hint">Add components from the palette, drag them into place, and drag from the round handle on a component’s right edge to another to link them. Select one to edit it.</p>`}
            ${tab === 'traffic' && html`<${TrafficForm} profile=${profile} onChange=${changeProfile} />`}
            ${tab === 'results' && html`<${ResultsPanel} run=${run} error=${runError} slo=${profile.latencySloMs} />`}
            ${tab === 'grade' && html`<${GradePanel} grade=${grade} onSelectItem=${(ids: string[]) => setHighlight(new Set(ids))} />`}
            ${tab === 'runs' && html`<${RunsPanel} workspaceId=${props.id} refresh=${runsVersion} currentId=${run?.id ?? null} onOpen=${openRun} />`}
          </div>
        </aside>
      </div>
    </div>
  `
}

const pickProfile = (p: TrafficProfile): TrafficProfile => ({
  peakRps: p.peakRps,
  readRatio: p.readRatio,
  payloadKb: p.payloadKb,
  latencySloMs: p.latencySloMs,
  budgetPerMonth: p.budgetPerMonth ?? null,
  availabilityTarget: p.availabilityTarget ?? null
})

/** Drops optional fields set back to "default" (undefined) so the stored design says only what was chosen. */
function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T
}

function SaveBadge(props: { label: string; state: SaveState }) {
  const { state } = props
  const text: Record<SaveState['kind'], string> = {
    saved: 'saved',
    pending: 'unsaved changes',
    saving: 'saving…',
    offline: 'offline, retrying',
    invalid: 'not saved: fix the problems',
    conflict: 'changed elsewhere',
    failed: 'not saved'
  }
  return html`<span class=${`save-badge save-${state.kind}`} role="status" data-save=${props.label.toLowerCase()}>${props.label}: ${text[state.kind]}${state.kind === 'failed' ? ` (${state.message})` : ''}</span>`
}

function ConflictBanner(props: { conflict: Conflict; onResolve: (choice: 'theirs' | 'mine') => void }) {
  const what = props.conflict.what === 'design' ? 'design' : 'traffic profile'
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

function Legend() {
  return html`
    <div class="legend" aria-label="Utilisation legend">
      <span><i class="swatch band-low"></i>under 60%</span>
      <span><i class="swatch band-mid"></i>60–85%</span>
      <span><i class="swatch band-high"></i>85–100% (hatched)</span>
      <span><i class="swatch band-over"></i>saturated</span>
      <span><i class="swatch bottleneck-swatch"></i>bottleneck</span>
    </div>
  `
}

type FieldSpec = {
  key: keyof Component
  label: string
  step?: string
  min?: number
  max?: number
  integer?: boolean
  only?: string[]
  hint?: string
}

const FIELDS: FieldSpec[] = [
  { key: 'instances', label: 'Instances', integer: true, min: 1, max: 1000 },
  { key: 'concurrency', label: 'Concurrency per instance', integer: true, min: 1, max: 1000 },
  { key: 'serviceTimeMs', label: 'Service time (ms)', step: 'any', min: 0.01 },
  { key: 'hitRatio', label: 'Hit ratio', step: '0.01', min: 0, max: 1, only: ['cache', 'cdn'] },
  { key: 'replicas', label: 'Read replicas', integer: true, min: 0, max: 15, only: ['database'] },
  {
    key: 'serviceTimeCv',
    label: 'Service-time variability (CV)',
    step: '0.1',
    min: 0,
    max: 10,
    hint: '1 = exponential (default), 0 = constant'
  },
  { key: 'queueLimit', label: 'Queue limit', integer: true, min: 0, hint: 'empty = unbounded' }
]

function problemFor(problems: Problem[], field: string) {
  return problems.filter((p) => p.path.endsWith(`/${field}`))
}

function ComponentForm(props: {
  component: Component
  design: Design
  problems: Problem[]
  onChange: (id: string, patch: Partial<Component>) => void
  onRename: (id: string, newId: string) => void
  onConnect: (from: string, to: string) => void
  onSelectLink: (index: number) => void
  onDelete: () => void
}) {
  const c = props.component
  const [idDraft, setIdDraft] = useState(c.id)
  const [linkTarget, setLinkTarget] = useState('')
  const idOk =
    /^[a-z0-9][a-z0-9_-]{0,39}$/.test(idDraft) && !props.design.components.some((o) => o !== c && o.id === idDraft)
  const general = props.problems.filter(
    (p) => /^\/components\/\d+$/.test(p.path) || p.path.endsWith('/id') || p.path.endsWith('/type')
  )
  const outgoing = props.design.links.map((l, i) => ({ l, i })).filter(({ l }) => l.from === c.id)
  const targets = props.design.components.filter(
    (o) => o.id !== c.id && o.type !== 'client' && !outgoing.some(({ l }) => l.to === o.id)
  )
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label=${`Component ${c.id}`}>
      <h2>${LABELS[c.type]} <code>${c.id}</code></h2>
      ${general.map((p) => html`<p class="field-error" role="alert">${p.message}</p>`)}
      <label>Id
        <input value=${idDraft} aria-invalid=${!idOk} onInput=${(e: Event) => setIdDraft((e.target as HTMLInputElement).value)}
          onChange=${() => idOk && idDraft !== c.id && props.onRename(c.id, idDraft)} />
      </label>
      ${!idOk && html`<p class="field-error">a–z, 0–9, _ and -, unique in the design</p>`}
      <label>Name
        <input value=${c.name ?? ''} maxLength="80" onChange=${(e: Event) => props.onChange(c.id, { name: (e.target as HTMLInputElement).value || undefined })} />
      </label>
      ${c.type === 'client' && html`<p class="hint">A client sends the traffic profile’s requests; it has nothing to size.</p>`}
      ${FIELDS.filter((f) => c.type !== 'client' && (!f.only || f.only.includes(c.type))).map((f) => {
        const errors = problemFor(props.problems, f.key)
        return html`
          <label>${f.label}
            <${NumberInput} name=${f.key} step=${f.step ?? (f.integer ? '1' : 'any')} min=${f.min} max=${f.max}
              value=${c[f.key] ?? ''} aria-invalid=${errors.length > 0} aria-describedby=${errors.length > 0 ? `err-${f.key}` : undefined}
              onCommit=${(input: HTMLInputElement) =>
                props.onChange(c.id, { [f.key]: numberOrUndefined(input) } as Partial<Component>)} />
          </label>
          ${f.hint && html`<p class="field-hint">${f.hint}</p>`}
          ${errors.map((p) => html`<p class="field-error" id=${`err-${f.key}`} role="alert">${p.message}</p>`)}
        `
      })}
      ${
        c.type !== 'client' &&
        html`<label class="check-row"><input type="checkbox" name="delay" checked=${c.delay === true}
          onChange=${(e: Event) => props.onChange(c.id, { delay: (e.target as HTMLInputElement).checked || undefined })} />
          A pure delay (never queues: an external API, an object store)</label>`
      }
      ${
        c.type !== 'client' &&
        html`<label>Zones (comma-separated; instances spread over them)
          <input name="zones" value=${(c.zones ?? []).join(', ')} aria-invalid=${problemFor(props.problems, 'zones').length > 0}
            onChange=${(e: Event) => {
              const zones = (e.target as HTMLInputElement).value
                .split(',')
                .map((z) => z.trim())
                .filter(Boolean)
              props.onChange(c.id, { zones: zones.length > 0 ? zones : undefined })
            }} />
        </label>
        ${problemFor(props.problems, 'zones').map((p) => html`<p class="field-error" role="alert">${p.message}</p>`)}`
      }
      <label>Routing of outgoing links
        <select value=${c.routing ?? ''} onChange=${(e: Event) => props.onChange(c.id, { routing: ((e.target as HTMLSelectElement).value || undefined) as Component['routing'] })}>
          <option value="">default (${c.type === 'load_balancer' ? 'split' : 'calls'})</option>
          <option value="split">split: each request takes one link</option>
          <option value="calls">calls: each link called on its own</option>
        </select>
      </label>
      <label>Balancing across instances
        <select value=${c.balancing ?? ''} onChange=${(e: Event) => props.onChange(c.id, { balancing: ((e.target as HTMLSelectElement).value || undefined) as Component['balancing'] })}>
          <option value="">pooled (default)</option>
          <option value="random">random: a queue per instance</option>
        </select>
      </label>
      <h3>Links out</h3>
      <ul class="link-list">
        ${outgoing.map(({ l, i }) => html`<li><button type="button" class="linkish" onClick=${() => props.onSelectLink(i)}>→ ${l.to}${l.share !== undefined && l.share !== 1 ? ` (${Math.round(l.share * 1000) / 10}%)` : ''}${l.traffic && l.traffic !== 'both' ? `, ${l.traffic}s` : ''}</button></li>`)}
      </ul>
      ${
        targets.length > 0 &&
        html`<div class="inline">
          <label>Link to
            <select value=${linkTarget} onChange=${(e: Event) => setLinkTarget((e.target as HTMLSelectElement).value)}>
              <option value="">choose…</option>
              ${targets.map((o) => html`<option value=${o.id}>${o.id}</option>`)}
            </select>
          </label>
          <button type="button" disabled=${!linkTarget} onClick=${() => {
            props.onConnect(c.id, linkTarget)
            setLinkTarget('')
          }}>Add link</button>
        </div>`
      }
      <button type="button" class="danger" onClick=${props.onDelete}>Delete component</button>
    </form>
  `
}

function LinkForm(props: {
  link: Design['links'][number]
  index: number
  design: Design
  problems: Problem[]
  onChange: (index: number, patch: Partial<Design['links'][number]>) => void
  onDelete: () => void
}) {
  const { link } = props
  const shareErrors = problemFor(props.problems, 'share')
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label=${`Link ${link.from} to ${link.to}`}>
      <h2>Link <code>${link.from}</code> → <code>${link.to}</code></h2>
      ${props.problems.filter((p) => !p.path.endsWith('/share')).map((p) => html`<p class="field-error" role="alert">${p.message}</p>`)}
      <label>Share
        <${NumberInput} name="share" step="0.01" min="0" max="1" value=${link.share ?? 1} aria-invalid=${shareErrors.length > 0}
          onCommit=${(input: HTMLInputElement) => props.onChange(props.index, { share: Number(input.value) })} />
      </label>
      <p class="field-hint">The fraction of ${link.from}’s requests sent this way (a split’s shares add up to 1).</p>
      ${shareErrors.map((p) => html`<p class="field-error" role="alert">${p.message}</p>`)}
      ${(['latencyMs', 'bandwidthMbps', 'timeoutMs', 'retries'] as const).map((key) => {
        const errors = problemFor(props.problems, key)
        const labels = {
          latencyMs: 'Network latency (ms)',
          bandwidthMbps: 'Bandwidth (Mbit/s)',
          timeoutMs: 'Timeout (ms)',
          retries: 'Retries after a timeout'
        }
        return html`
          <label>${labels[key]}
            <${NumberInput} name=${key} step="any" min="0" value=${link[key] ?? ''} aria-invalid=${errors.length > 0}
              onCommit=${(input: HTMLInputElement) =>
                props.onChange(props.index, { [key]: numberOrUndefined(input) })} />
          </label>
          ${errors.map((p) => html`<p class="field-error" role="alert">${p.message}</p>`)}
        `
      })}
      <p class="field-hint">Latency or bandwidth: each traversal adds the latency and the payload at the bandwidth (default 1000). A timeout retries at once and keeps the timed-out attempt running; empty: none.</p>
      <label>Traffic
        <select value=${link.traffic ?? 'both'} onChange=${(e: Event) => props.onChange(props.index, { traffic: (e.target as HTMLSelectElement).value as 'read' | 'write' | 'both' })}>
          <option value="both">reads and writes</option>
          <option value="read">reads only</option>
          <option value="write">writes only</option>
        </select>
      </label>
      <button type="button" class="danger" onClick=${props.onDelete}>Delete link</button>
    </form>
  `
}

function TrafficForm(props: { profile: TrafficProfile; onChange: (p: TrafficProfile) => void }) {
  const fields: {
    key: keyof TrafficProfile
    label: string
    step: string
    min: number
    max?: number
    optional?: boolean
  }[] = [
    { key: 'peakRps', label: 'Peak requests per second', step: 'any', min: 0.001 },
    { key: 'readRatio', label: 'Share of reads (0–1)', step: '0.05', min: 0, max: 1 },
    { key: 'payloadKb', label: 'Payload (kB)', step: 'any', min: 0 },
    { key: 'latencySloMs', label: 'p95 latency SLO (ms)', step: 'any', min: 0.001 },
    { key: 'budgetPerMonth', label: 'Monthly budget (USD, optional)', step: 'any', min: 0, optional: true },
    {
      key: 'availabilityTarget',
      label: 'Availability target (0.9–0.999999; empty: 0.999)',
      step: 'any',
      min: 0.9,
      max: 0.999999,
      optional: true
    }
  ]
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Traffic profile">
      <h2>Traffic profile</h2>
      ${fields.map(
        (f) => html`
          <label>${f.label}
            <${NumberInput} name=${f.key} step=${f.step} min=${f.min} max=${f.max} required=${!f.optional} value=${props.profile[f.key] ?? ''}
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
