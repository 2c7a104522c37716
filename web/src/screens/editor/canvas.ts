// The design canvas: an SVG the learner edits with a pointer or the keyboard. Components are
// dragged to move, linked by dragging from the round handle on their right edge to another
// component, selected by click or Enter, nudged with the arrow keys and deleted with Delete.
// After a run each component shows its utilisation as a colour, a number and (when hot) a hatch.
import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'
import { type Catalogue, hasTrait, kindOf } from '../../../../src/domain/components.ts'
import { latencyText, utilizationBand } from '../../../../src/domain/format.ts'
import { NODE_H, NODE_W } from '../../../../src/domain/layout.ts'
import type { StoredComponentResult } from '../../../../src/domain/schemas.ts'
import type { Design, Link } from '../../design.ts'
import type { Selection } from '../../store.ts'
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
  /** Drawn at this scale (1 = a design unit per pixel); the design's coordinates do not change. */
  zoom: number
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

/** The zoom at which the whole design (with a margin) fits a box of this size (never above 100 %). */
export function fitZoom(design: Design, box: { width: number; height: number }): number {
  const extent = designExtent(design)
  const scale = Math.min(box.width / (extent.width + 40), box.height / (extent.height + 40))
  return Math.max(ZOOM_MIN, Math.min(1, Math.floor(scale * 100) / 100))
}

const pct = (u: number) => `${Math.round(u * 100)}%`

export function Canvas(props: CanvasProps) {
  const { design, selection, results } = props
  const svg = useRef<SVGSVGElement>(null)
  const [drag, setDrag] = useState<Drag>(null)
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

  function onKeyDown(event: KeyboardEvent) {
    // Delete and Escape are the editor's (they work wherever the focus is, outside form fields).
    if (props.readOnly) return
    const step = event.shiftKey ? 50 : 10
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step]
    }
    const move = moves[event.key]
    if (move && selection?.kind === 'component') {
      const c = byId.get(selection.id)
      if (!c) return
      event.preventDefault()
      props.onMove(c.id, Math.max(0, (c.x ?? 0) + move[0]), Math.max(0, (c.y ?? 0) + move[1]))
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
      aria-label="Design canvas: Tab to a component, Enter to select it, arrow keys to move it, Delete to remove it; + and − zoom, 0 is actual size, F fits"
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
        const r = results?.get(c.id)
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
          lossy ? 'lossy' : ''
        ].join(' ')
        const kind = kindOf(props.catalogue, c.type)
        const detail = r
          ? `ρ ${pct(r.utilization)} · p95 ${latencyText(r.p95LatencyMs, r.overload?.queueGrowthRps ?? 0)}`
          : hasTrait(props.catalogue, c.type, 'source')
            ? 'sends the traffic'
            : c.delay
              ? `delay ${c.serviceTimeMs} ms`
              : `${kind?.label ?? c.type} ×${c.instances}`
        const label = `${kind?.label ?? c.type} ${c.id}${r ? `, utilisation ${pct(r.utilization)}${lossy ? ', losing requests' : ''}${props.bottleneck === c.id ? ', bottleneck' : ''}` : ''}`
        return html`
          <g
            class=${classes}
            transform=${`translate(${c.x ?? 0} ${c.y ?? 0})`}
            tabindex="0"
            role="button"
            aria-pressed=${selected}
            aria-label=${label}
            data-id=${c.id}
            onPointerDown=${(e: PointerEvent) => startMove(e, c.id)}
            onFocus=${() => props.onSelect({ kind: 'component', id: c.id })}
          >
            <rect class="node-box" width=${NODE_W} height=${NODE_H} rx="8" />
            ${band === 'high' || band === 'over' ? html`<rect class="node-hatch" width=${NODE_W} height=${NODE_H} rx="8" />` : null}
            <path class="node-icon" d=${iconPath(kind?.icon)} transform="translate(10 16)" />
            <text class="node-id" x="42" y="24">${c.id.length > 14 ? `${c.id.slice(0, 13)}…` : c.id}</text>
            <text class="node-detail" x="42" y="42">${detail}</text>
            ${props.bottleneck === c.id ? html`<text class="node-tag" x="0" y="-6">bottleneck</text>` : null}
            ${lossy ? html`<text class="node-tag lossy-tag" x=${NODE_W} y="-6" text-anchor="end">${r?.saturated ? 'saturated' : `loses ${pct(r?.lossRate ?? 0)}`}</text>` : null}
            ${props.problemIds.has(c.id) ? html`<text class="node-problem" x=${NODE_W - 14} y="20">!</text>` : null}
            ${props.readOnly ? null : html`<circle class="port" cx=${NODE_W} cy=${NODE_H / 2} r="7" onPointerDown=${(e: PointerEvent) => startConnect(e, c.id)}><title>Drag to another component to link them</title></circle>`}
          </g>
        `
      })}
    </svg>
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
  const ac = { x: (a.x ?? 0) + NODE_W / 2, y: (a.y ?? 0) + NODE_H / 2 }
  const bc = { x: (b.x ?? 0) + NODE_W / 2, y: (b.y ?? 0) + NODE_H / 2 }
  const p = edgePoint(ac.x, ac.y, bc.x, bc.y)
  const q = edgePoint(bc.x, bc.y, ac.x, ac.y)
  const selected = props.selection?.kind === 'link' && props.selection.index === index
  const parts = [
    link.share !== undefined && link.share !== 1 ? `${Math.round(link.share * 1000) / 10}%` : '',
    link.traffic && link.traffic !== 'both' ? `${link.traffic}s` : '',
    link.latencyMs !== undefined ? `+${link.latencyMs} ms` : ''
  ].filter(Boolean)
  const select = (e: PointerEvent) => {
    e.stopPropagation()
    props.onSelect({ kind: 'link', index })
  }
  return html`
    <g class=${`link${selected ? ' selected' : ''}`} data-link=${`${link.from}->${link.to}`}>
      <line class="link-hit" x1=${p.x} y1=${p.y} x2=${q.x} y2=${q.y} onPointerDown=${select} />
      <line class="link-line" x1=${p.x} y1=${p.y} x2=${q.x} y2=${q.y} marker-end="url(#arrow)" />
      ${parts.length > 0 ? html`<text class="link-label" x=${(p.x + q.x) / 2} y=${(p.y + q.y) / 2 - 6} text-anchor="middle">${parts.join(' · ')}</text>` : null}
    </g>
  `
}
