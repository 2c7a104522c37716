// The design canvas: an SVG the learner edits with a pointer or the keyboard. Components are
// dragged to move, linked by dragging from the round handle on their right edge to another
// component, selected by click. From the keyboard the canvas is one tab stop (a roving tabindex):
// the arrow keys go from component to component, Enter opens one's form, Shift+arrows move it,
// L then Enter on another links them, Delete removes it. After a run each component shows its
// utilisation as a colour, a number and (when hot) a hatch.
import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'
import { type Catalogue, hasTrait, kindOf } from '../../../../src/domain/components.ts'
import { latencyText, ms, utilizationBand } from '../../../../src/domain/format.ts'
import { NODE_H, NODE_W } from '../../../../src/domain/layout.ts'
import type { StoredComponentResult } from '../../../../src/domain/schemas.ts'
import type { Design, Link } from '../../design.ts'
import type { Selection } from '../../store.ts'
import { fitLabel, type Measure } from '../../ui/fit-text.ts'
import { iconPath } from '../../ui/icons.ts'

export interface CanvasProps {
  design: Design
  catalogue: Catalogue
  selection: Selection
  results: Map<string, StoredComponentResult> | null
  bottleneck: string | null
  highlight: Set<string>
  problemIds: Set<string>
  readOnly: boolean
  onSelect: (selection: Selection) => void
  /** `gesture` names a drag (its moves are one step to undo); none for a key press. */
  onMove: (id: string, x: number, y: number, gesture?: string) => void
  onConnect: (from: string, to: string) => void
  /** Enter on a component: select it and open its form. */
  onOpen: (id: string) => void
  /** Delete on a component. */
  onDelete: (id: string) => void
  /** Drawn at this scale (1 = a design unit per pixel); the design's coordinates do not change. */
  zoom: number
  /** Requests per second over each link (`from->to`), from the preview. */
  linkRates?: Map<string, number>
  /** Components a what-if left with nothing. */
  down?: Set<string>
}

type Drag =
  | { kind: 'move'; id: string; dx: number; dy: number; moved: boolean; gesture: string }
  | { kind: 'connect'; from: string; x: number; y: number }
  | null

/** How far the design's components reach, in design units (at least one node). */
function designExtent(design: Design): { width: number; height: number } {
  return {
    width: Math.max(NODE_W, ...design.components.map((c) => (c.x ?? 0) + NODE_W)),
    height: Math.max(NODE_H, ...design.components.map((c) => (c.y ?? 0) + NODE_H))
  }
}

/** The canvas's extent in design units: the design plus room to grow, never less than 1000 × 620. */
function canvasSize(design: Design): { width: number; height: number } {
  const extent = designExtent(design)
  return { width: Math.max(1000, extent.width + 120), height: Math.max(620, extent.height + 120) }
}

/** Zoom steps: ×1.25 each, from a quarter to double. */
export const ZOOM_MIN = 0.25
export const ZOOM_MAX = 2
export const zoomBy = (zoom: number, steps: number) =>
  Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, Math.round(zoom * 1.25 ** steps * 100) / 100))

/** Fit goes no smaller: below it a component's text is unreadable (on a phone the rest is a scroll away). */
export const FIT_MIN = 0.7

/** The zoom at which the whole design (with a margin) fits a box of this size (never above 100 %, nor below FIT_MIN). */
export function fitZoom(design: Design, box: { width: number; height: number }): number {
  const extent = designExtent(design)
  const scale = Math.min(box.width / (extent.width + 40), box.height / (extent.height + 40))
  return Math.max(FIT_MIN, Math.min(1, Math.floor(scale * 100) / 100))
}

/** Binds a figure to its name and unit: a wrapped label breaks between figures, not inside one. */
const NBSP = '\u00a0'

/** A space between a node's texts: they read as words, not run together, in its accessible text. */
const SPACE = ' '

const pct = (u: number) => `${Math.round(u * 100)}%`

/** Where a node's text starts (right of its icon), and how wide it may run: to the link handle, or the problem mark. */
const TEXT_X = 42
const textWidth = (problem: boolean) => NODE_W - TEXT_X - (problem ? 22 : 10)

/** A measure by the page's own font (a canvas's text metrics), made once per page. */
export function canvasMeasure(fontFamily: string): Measure {
  const context = document.createElement('canvas').getContext('2d')
  const cache = new Map<string, number>()
  return (text, size, weight) => {
    const key = `${size}|${weight}|${text}`
    const known = cache.get(key)
    if (known !== undefined) return known
    let width = text.length * size * 0.62
    if (context) {
      context.font = `${weight} ${size}px ${fontFamily}`
      width = context.measureText(text).width
    }
    if (cache.size > 5000) cache.clear()
    cache.set(key, width)
    return width
  }
}

/** The page's text measured by its own font: a node's label is wrapped to fit it. */
let measureByFont: Measure | null = null
const measure: Measure = (text, size, weight) => {
  measureByFont ??= canvasMeasure(getComputedStyle(document.body).fontFamily)
  return measureByFont(text, size, weight)
}

export function Canvas(props: CanvasProps) {
  const { design, selection, results } = props
  const svg = useRef<SVGSVGElement>(null)
  const [drag, setDrag] = useState<Drag>(null)
  /** The component that holds the canvas's one tab stop. */
  const [focusId, setFocusId] = useState<string | null>(null)
  /** Linking from the keyboard: the component the link starts at. */
  const [linkFrom, setLinkFrom] = useState<string | null>(null)
  const byId = new Map(design.components.map((c) => [c.id, c]))
  const { width, height } = canvasSize(design)
  const zoom = props.zoom

  /** Where the pointer is, in the design's coordinates (the drawn size over the design's). */
  function point(event: PointerEvent) {
    const box = svg.current?.getBoundingClientRect()
    const scale = box ? box.width / width : zoom
    return { x: (event.clientX - (box?.left ?? 0)) / scale, y: (event.clientY - (box?.top ?? 0)) / scale }
  }

  function nodeAt(x: number, y: number) {
    return design.components.find(
      (c) => x >= (c.x ?? 0) && x <= (c.x ?? 0) + NODE_W && y >= (c.y ?? 0) && y <= (c.y ?? 0) + NODE_H
    )
  }

  function startMove(event: PointerEvent, id: string) {
    if (event.button !== 0) return
    event.stopPropagation()
    props.onSelect({ kind: 'component', id })
    if (props.readOnly) return
    const p = point(event)
    const c = byId.get(id)
    svg.current?.setPointerCapture(event.pointerId)
    setDrag({
      kind: 'move',
      id,
      dx: p.x - (c?.x ?? 0),
      dy: p.y - (c?.y ?? 0),
      moved: false,
      gesture: `drag-${event.pointerId}-${event.timeStamp}`
    })
  }

  function startConnect(event: PointerEvent, from: string) {
    if (event.button !== 0 || props.readOnly) return
    event.stopPropagation()
    svg.current?.setPointerCapture(event.pointerId)
    const p = point(event)
    setDrag({ kind: 'connect', from, x: p.x, y: p.y })
  }

  function onPointerMove(event: PointerEvent) {
    if (!drag) return
    const p = point(event)
    if (drag.kind === 'move') {
      const x = Math.max(0, Math.round(p.x - drag.dx))
      const y = Math.max(0, Math.round(p.y - drag.dy))
      props.onMove(drag.id, x, y, drag.gesture)
      if (!drag.moved) setDrag({ ...drag, moved: true })
    } else setDrag({ ...drag, x: p.x, y: p.y })
  }

  function onPointerUp(event: PointerEvent) {
    if (drag?.kind === 'connect') {
      const p = point(event)
      const target = nodeAt(p.x, p.y)
      if (target && target.id !== drag.from) props.onConnect(drag.from, target.id)
    }
    setDrag(null)
  }

  const ids = design.components.map((c) => c.id)
  const selectedId = selection?.kind === 'component' ? selection.id : null
  const tabStop = [focusId, selectedId].find((id) => id !== null && byId.has(id)) ?? ids[0]

  function focusNode(id: string) {
    setFocusId(id)
    svg.current?.querySelector<SVGGElement>(`g.node[data-id="${id}"]`)?.focus()
  }

  function onKeyDown(event: KeyboardEvent) {
    const target = (event.target as Element).closest?.('g.node')?.getAttribute('data-id')
    if (!target || !byId.has(target)) return
    const c = byId.get(target) as Design['components'][number]
    const at = ids.indexOf(target)
    const step = event.altKey ? 50 : 10
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step]
    }
    const goTo: Record<string, number> = {
      ArrowRight: at + 1,
      ArrowDown: at + 1,
      ArrowLeft: at - 1,
      ArrowUp: at - 1,
      Home: 0,
      End: ids.length - 1
    }
    if (event.shiftKey && moves[event.key]) {
      if (props.readOnly) return
      event.preventDefault()
      const [dx, dy] = moves[event.key]
      props.onMove(c.id, Math.max(0, (c.x ?? 0) + dx), Math.max(0, (c.y ?? 0) + dy))
    } else if (event.key in goTo && !event.ctrlKey && !event.metaKey) {
      event.preventDefault()
      focusNode(ids[(goTo[event.key] + ids.length) % ids.length])
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault()
      if (linkFrom !== null && !props.readOnly) {
        if (linkFrom !== target) props.onConnect(linkFrom, target)
        setLinkFrom(null)
      } else props.onOpen(target)
    } else if (event.key.toLowerCase() === 'l' && !props.readOnly && !event.ctrlKey && !event.metaKey) {
      event.preventDefault()
      setLinkFrom(target)
    } else if (event.key === 'Escape' && linkFrom !== null) {
      event.preventDefault()
      event.stopPropagation()
      setLinkFrom(null)
    } else if ((event.key === 'Delete' || event.key === 'Backspace') && !props.readOnly) {
      event.preventDefault()
      const next = ids[at + 1] ?? ids[at - 1] ?? null
      props.onDelete(target)
      if (next) setTimeout(() => focusNode(next))
    }
  }

  const dragging = drag?.kind === 'connect' ? byId.get(drag.from) : undefined

  return html`
    <svg
      ref=${svg}
      class="canvas"
      width=${Math.round(width * zoom)}
      height=${Math.round(height * zoom)}
      viewBox=${`0 0 ${width} ${height}`}
      role="application"
      aria-label="Design canvas: arrow keys go from component to component, Enter opens one's form, Shift+arrows move it, L then Enter on another component links them, Delete removes it; + and − zoom, 0 is actual size, F fits"
      onPointerMove=${onPointerMove}
      onPointerUp=${onPointerUp}
      onPointerDown=${() => props.onSelect(null)}
      onKeyDown=${onKeyDown}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0 0L10 5L0 10z" class="arrow-head" />
        </marker>
        <pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <line x1="0" y1="0" x2="0" y2="8" class="hatch-line" />
        </pattern>
      </defs>
      ${design.links.map((link, index) => LinkView(link, index, props, byId))}
      ${
        dragging &&
        drag?.kind === 'connect' &&
        html`<line class="link-draft" x1=${(dragging.x ?? 0) + NODE_W} y1=${(dragging.y ?? 0) + NODE_H / 2} x2=${drag.x} y2=${drag.y} />`
      }
      ${design.components.map((c) => {
        const isDown = props.down?.has(c.id) ?? false
        // A component a what-if left with nothing shows as down, not with the figures it would have.
        const r = isDown ? undefined : results?.get(c.id)
        const band = r ? utilizationBand(r.utilization) : null
        const lossy = r ? r.saturated || (r.lossRate ?? 0) > 0 : false
        const selected = selection?.kind === 'component' && selection.id === c.id
        const classes = [
          'node',
          band ? `band-${band}` : 'band-none',
          selected ? 'selected' : '',
          props.bottleneck === c.id ? 'bottleneck' : '',
          props.highlight.has(c.id) ? 'highlight' : '',
          props.problemIds.has(c.id) ? 'has-problem' : '',
          lossy ? 'lossy' : '',
          props.down?.has(c.id) ? 'down' : ''
        ].join(' ')
        const kind = kindOf(props.catalogue, c.type)
        // Drawn short (an unbounded p95 as ∞); said in full in the name and the title.
        const p95Said = r ? latencyText(r.p95LatencyMs, r.overload?.queueGrowthRps ?? 0) : ''
        const detail = isDown
          ? 'down: its requests fail'
          : r
            ? `ρ ${pct(r.utilization)} · p95${NBSP}${r.p95LatencyMs === null ? '∞' : ms(r.p95LatencyMs).replace(' ', NBSP)}`
            : hasTrait(props.catalogue, c.type, 'source')
              ? 'sends the traffic'
              : c.delay
                ? `delay ${c.serviceTimeMs} ms`
                : `${kind?.label ?? c.type} ×${c.instances}`
        const said = r ? `utilisation ${pct(r.utilization)}, p95 ${p95Said}` : detail
        const lines = fitLabel(c.id, detail, textWidth(props.problemIds.has(c.id)), NODE_H - 4, measure)
        const lossText = r?.saturated ? 'saturated' : `loses ${pct(r?.lossRate ?? 0)}`
        // The name starts with what is drawn, in its order (WCAG 2.5.3), then says the rest.
        const label = [
          `${c.id} ${detail}`,
          r && r.p95LatencyMs === null ? ` (${p95Said})` : '',
          props.bottleneck === c.id ? ' bottleneck' : '',
          lossy ? ` ${lossText}` : '',
          `, ${kind?.label ?? c.type} ${c.id}`,
          r ? `, utilisation ${pct(r.utilization)}` : '',
          props.problemIds.has(c.id) ? ', not saved: see its problems' : '',
          isDown ? ', down in the what-if' : ''
        ].join('')
        return html`
          <g
            class=${classes}
            transform=${`translate(${c.x ?? 0} ${c.y ?? 0})`}
            tabindex=${c.id === tabStop ? 0 : -1}
            role="button"
            aria-pressed=${selected}
            aria-label=${linkFrom === c.id ? `${label}, linking from here: go to another component and press Enter` : label}
            data-id=${c.id}
            data-linking=${linkFrom === c.id ? 'from' : undefined}
            onPointerDown=${(e: PointerEvent) => startMove(e, c.id)}
            onFocus=${() => setFocusId(c.id)}
          >
            <rect class="node-box" width=${NODE_W} height=${NODE_H} rx="8" />
            ${band === 'high' || band === 'over' ? html`<rect class="node-hatch" width=${NODE_W} height=${NODE_H} rx="8" />` : null}
            <path class="node-icon" d=${iconPath(kind?.icon)} transform="translate(10 16)" />
            <title>${`${c.id}: ${said}`}</title>
            ${(['id', 'detail'] as const).map(
              (part) =>
                html`<text class=${`node-${part}`} x=${TEXT_X}>${lines
                  .filter((l) => l.part === part)
                  .map(
                    (l) =>
                      html`<tspan x=${TEXT_X} y=${l.y + 2} font-size=${l.size} textLength=${l.textLength} lengthAdjust=${l.textLength ? 'spacingAndGlyphs' : undefined}>${l.text}</tspan>`
                  )}</text>${SPACE}`
            )}
            ${isDown ? html`<text class="node-tag down-tag" x="0" y=${NODE_H + 14}>down (what-if)</text>` : null}
            ${props.bottleneck === c.id ? html`${SPACE}<text class="node-tag" x="0" y="-6">bottleneck</text>` : null}
            ${lossy ? html`${SPACE}<text class="node-tag lossy-tag" x=${NODE_W} y="-6" text-anchor="end">${lossText}</text>` : null}
            ${props.problemIds.has(c.id) ? html`<text class="node-problem" x=${NODE_W - 14} y="20" aria-hidden="true">!</text>` : null}
            ${props.readOnly ? null : html`<circle class="port" cx=${NODE_W} cy=${NODE_H / 2} r="7" aria-hidden="true" onPointerDown=${(e: PointerEvent) => startConnect(e, c.id)}><title>Drag to another component to link them</title></circle>`}
          </g>
        `
      })}
      <g class="link-labels">${design.links.map((link) => LinkLabel(link, props, byId))}</g>
    </svg>
    <p class=${linkFrom !== null ? 'canvas-status' : 'visually-hidden'} role="status">${linkFrom !== null ? `Linking from ${linkFrom}: go to the component to link to and press Enter, or Escape to stop.` : ''}</p>
  `
}

/** The design as text a screen reader can walk: each component, what it is and where it links. */
export function DesignOutline(props: { design: Design; catalogue: Catalogue }) {
  const { design } = props
  return html`
    <section class="visually-hidden" aria-labelledby="outline-title">
      <h2 id="outline-title">The design as a list</h2>
      ${design.components.length === 0 && html`<p>No components yet.</p>`}
      <ul>
        ${design.components.map((c) => {
          const out = design.links.filter((l) => l.from === c.id).map((l) => l.to)
          return html`<li>${kindOf(props.catalogue, c.type)?.label ?? c.type} ${c.id}${c.instances ? `, ${c.instances} instance${c.instances === 1 ? '' : 's'}` : ''}: ${out.length > 0 ? `links to ${out.join(', ')}` : 'links to nothing'}</li>`
        })}
      </ul>
    </section>
  `
}

/** Where the segment from a's centre to b's centre leaves a's box. */
function edgePoint(ax: number, ay: number, bx: number, by: number) {
  const dx = bx - ax
  const dy = by - ay
  const sx = dx === 0 ? Number.POSITIVE_INFINITY : NODE_W / 2 / Math.abs(dx)
  const sy = dy === 0 ? Number.POSITIVE_INFINITY : NODE_H / 2 / Math.abs(dy)
  const s = Math.min(sx, sy, 1)
  return { x: ax + dx * s, y: ay + dy * s }
}

function LinkView(link: Link, index: number, props: CanvasProps, byId: Map<string, Design['components'][number]>) {
  const a = byId.get(link.from)
  const b = byId.get(link.to)
  if (!a || !b) return null
  const { p, q } = ends(a, b)
  const selected = props.selection?.kind === 'link' && props.selection.index === index
  const select = (e: PointerEvent) => {
    e.stopPropagation()
    props.onSelect({ kind: 'link', index })
  }
  return html`
    <g class=${`link${selected ? ' selected' : ''}`} data-link=${`${link.from}->${link.to}`}>
      <line class="link-hit" x1=${p.x} y1=${p.y} x2=${q.x} y2=${q.y} onPointerDown=${select} />
      <line class="link-line" x1=${p.x} y1=${p.y} x2=${q.x} y2=${q.y} marker-end="url(#arrow)" />
    </g>
  `
}

/** A link's rate and settings, drawn over the components (a label wider than a short link's gap stays readable). */
function LinkLabel(link: Link, props: CanvasProps, byId: Map<string, Design['components'][number]>) {
  const a = byId.get(link.from)
  const b = byId.get(link.to)
  if (!a || !b) return null
  const { p, q } = ends(a, b)
  const rate = props.linkRates?.get(`${link.from}->${link.to}`)
  const parts = [
    rate !== undefined ? `${rate < 10 ? Math.round(rate * 10) / 10 : Math.round(rate)} req/s` : '',
    link.share !== undefined && link.share !== 1 ? `${Math.round(link.share * 1000) / 10}%` : '',
    link.traffic && link.traffic !== 'both' ? `${link.traffic}s` : '',
    link.latencyMs !== undefined ? `+${link.latencyMs} ms` : ''
  ].filter(Boolean)
  if (parts.length === 0) return null
  return html`<text class="link-label" data-label-of=${`${link.from}->${link.to}`} x=${(p.x + q.x) / 2} y=${(p.y + q.y) / 2 - 6} text-anchor="middle">${parts.join(' · ')}</text>`
}

/** Where a link leaves its source's box and meets its target's. */
function ends(a: Design['components'][number], b: Design['components'][number]) {
  const ac = { x: (a.x ?? 0) + NODE_W / 2, y: (a.y ?? 0) + NODE_H / 2 }
  const bc = { x: (b.x ?? 0) + NODE_W / 2, y: (b.y ?? 0) + NODE_H / 2 }
  return { p: edgePoint(ac.x, ac.y, bc.x, bc.y), q: edgePoint(bc.x, bc.y, ac.x, ac.y) }
}
