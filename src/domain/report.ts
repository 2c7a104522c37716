import type { Analysis } from './analysis.ts'
import type { SimulationResult } from './engine.ts'
import type { ComponentDerivation } from './explain-schemas.ts'
import {
  availabilityPct,
  millis,
  ms,
  rate,
  rps,
  sizedSentence,
  sloBreakCause,
  sloBreakSentence,
  type UtilizationBand,
  unboundedText,
  utilizationBand
} from './format.ts'
import type { Grade } from './grading.ts'
import { NODE_H, NODE_W, positions } from './layout.ts'
import { type Design, fromOlderModel, type TrafficProfile } from './model.ts'
import { derivationAppendix } from './report-appendix.ts'

const OLDER_MODEL = 'Computed by an older model: simulate again for the current one.'
/** A latency in a table's cell: milliseconds, or unbounded (null). */
const cell = (x: number | null) => (x === null ? 'unbounded' : millis(x))
/** After unbounded figures: why (the queue that grows without end). */
const unboundedNote = (o: SimulationResult['overall']) =>
  o.unbounded ? ` (${unboundedText(o.overload?.queueGrowthRps ?? 0)})` : ''

/** A component's lost share (finite queue full, or saturated) as a percentage; results stored before it existed show 0. */
const lostOf = (c: { lossRate?: number }) => `${((c.lossRate ?? 0) * 100).toFixed(2)}%`

/** Links with a timeout, as table rows: how often attempts time out, what retries cost, what fails. */
const timeoutRows = (result: SimulationResult) =>
  (result.links ?? []).map((l) => [
    `${l.from} → ${l.to}`,
    `${(l.timeoutShare * 100).toFixed(1)}%`,
    `${l.retryAmplification}×`,
    `${(l.failedShare * 100).toFixed(2)}%`
  ])
const TIMEOUT_HEAD = ['link', 'attempts timed out', 'attempts per request', 'failed']

/** The analysis as titled tables (the same in Markdown and HTML): what a coach asks next. */
function analysisSections(
  a: Analysis,
  sloMs: number
): { title: string; note: string; head: string[]; rows: string[][] }[] {
  const firstBreaks = a.breaksFirst.slice(0, 6)
  return [
    {
      title: 'What breaks first',
      note: sloBreakSentence(a, sloMs),
      head: ['component', 'utilisation', 'reached at (rps)'],
      rows: firstBreaks.map((b) => [b.component, `${Math.round(b.utilization * 100)}%`, String(rate(b.rps))])
    },
    {
      title: 'If an instance is lost',
      note:
        a.failuresOmitted > 0
          ? `The ${a.failures.length} busiest components; ${a.failuresOmitted} more not analysed.`
          : 'Each component with traffic, one instance (or a database primary) lost; and each zone the design names.',
      head: ['component', 'lost', 'p95 (ms)', 'errors', 'SLO'],
      rows: a.failures.map((f) => [
        f.component,
        f.lost === 'zone'
          ? `the whole zone${f.outage ? ' (a component left with none)' : ''}`
          : f.outage
            ? 'its only instance: outage'
            : f.lost === 'primary'
              ? 'primary (a replica promoted)'
              : 'one instance',
        f.p95 === null ? '–' : String(millis(f.p95)),
        `${(f.errorRate * 100).toFixed(2)}%`,
        f.sloHolds ? 'holds' : 'missed'
      ])
    },
    {
      title: 'Availability and cost',
      note: `Availability ${availabilityPct(a.availability.fraction)} (${a.availability.nines} nines, ${a.availability.downtimeMinutesPerMonth} minutes down a month); $${a.cost.perMonth} a month, $${a.cost.perMillionRequests} per million requests at peak.`,
      head: ['component', 'per month (USD)'],
      rows: a.cost.byComponent.map((c) => [c.component, String(c.perMonth)])
    },
    {
      title: 'Suggested sizes',
      note:
        a.suggestions.length === 0
          ? 'Every component is sized for the peak with headroom, short waits and one instance lost.'
          : a.sized
            ? sizedSentence(a.sized, sloMs)
            : '',
      head: ['component', 'instances', 'suggested', 'cost change a month (USD)', 'why'],
      rows: a.suggestions.map((s) => [
        s.component,
        String(s.instances),
        String(s.suggested),
        `${s.costDeltaPerMonth >= 0 ? '+' : ''}${s.costDeltaPerMonth}`,
        s.reason
      ])
    }
  ]
}

export const ExportFormats = ['markdown', 'json', 'html'] as const
export type ExportFormat = (typeof ExportFormats)[number]

export interface ReportInput {
  workspace: { id: string; name: string; description: string; version: number }
  design: Design
  traffic: TrafficProfile
  simulation: {
    id: string
    createdAt: string
    result: SimulationResult & { analysis?: Analysis; modelVersion?: number }
  } | null
  grade: { id: string; score: number; items: Grade['items'] } | null
  generatedAt: string
  /** The HTML export's appendix: each component's derivation (issue 38). */
  derivations?: ComponentDerivation[]
}

export interface RenderedReport {
  content: string
  contentType: string
  extension: string
}

export function renderReport(format: ExportFormat, input: ReportInput): RenderedReport {
  if (format === 'json') {
    return {
      content: `${JSON.stringify(input, null, 2)}\n`,
      contentType: 'application/json; charset=utf-8',
      extension: 'json'
    }
  }
  if (format === 'markdown')
    return { content: markdown(input), contentType: 'text/markdown; charset=utf-8', extension: 'md' }
  return { content: html(input), contentType: 'text/html; charset=utf-8', extension: 'html' }
}

/** A file name safe in a Content-Disposition header. */
export function reportFilename(name: string, extension: string): string {
  const base =
    name
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'workspace'
  return `${base}-report.${extension}`
}

/**
 * Text from a user as inline Markdown: every ASCII punctuation character escaped (CommonMark lets
 * any of them be), so no heading, list, fence, table cell, link or autolink can start inside it,
 * and line breaks folded into spaces so none can start a block of its own.
 */
const mdEscape = (s: string) =>
  s
    .replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ')
    .trim()
    .replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`)
/** A user's multi-line text: each line escaped as above, kept as a hard line break. */
const mdLines = (s: string) =>
  s
    .split(/[\r\n\u2028\u2029]+/)
    .map(mdEscape)
    .filter(Boolean)
    .join('  \n')

function markdown(r: ReportInput): string {
  const lines = [
    `# ${mdEscape(r.workspace.name)} — system design report`,
    '',
    ...(r.workspace.description ? [mdLines(r.workspace.description), ''] : []),
    `Generated ${r.generatedAt} from workspace version ${r.workspace.version}.`,
    '',
    '## Traffic profile',
    '',
    `- Peak: ${r.traffic.peakRps} requests/s, ${Math.round(r.traffic.readRatio * 100)}% reads, ${r.traffic.payloadKb} KB payloads`,
    `- Latency SLO (p95): ${r.traffic.latencySloMs} ms`,
    ...((r.traffic.arrivalCv ?? 1) === 1
      ? []
      : [`- Arrivals: bursty, CV ${r.traffic.arrivalCv} of the time between requests`]),
    '',
    '## Components',
    '',
    '| id | type | instances | concurrency | service time (ms) |',
    '| --- | --- | --- | --- | --- |',
    ...r.design.components.map(
      (c) =>
        `| ${mdEscape(c.id)} | ${c.type} | ${c.instances ?? '–'} | ${c.concurrency ?? '–'} | ${c.serviceTimeMs ?? '–'} |`
    ),
    ''
  ]
  if (r.simulation) {
    const o = r.simulation.result.overall
    lines.push(
      '## Latest simulation',
      '',
      ...(fromOlderModel(r.simulation.result) ? [`- ${OLDER_MODEL}`] : []),
      `- Latency: p50 ${ms(o.p50)}, p95 ${ms(o.p95)}, p99 ${ms(o.p99)} (mean ${ms(o.meanLatencyMs)})${unboundedNote(o)}`,
      `- Throughput ${rps(o.throughputRps)}, error rate ${(o.errorRate * 100).toFixed(2)}%`,
      `- Bottleneck: ${o.bottleneck ?? 'none'}; sustainable up to ${rps(o.maxSustainableRps)}`,
      `- Single points of failure: ${o.singlePointsOfFailure.length ? o.singlePointsOfFailure.join(', ') : 'none'}`,
      '',
      '| component | arrival (rps) | utilisation | mean (ms) | p95 (ms) | lost | saturated |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...r.simulation.result.components.map(
        (c) =>
          `| ${mdEscape(c.id)} | ${rate(c.arrivalRps)} | ${(c.utilization * 100).toFixed(1)}% | ${cell(c.meanLatencyMs)} | ${cell(c.p95LatencyMs)} | ${lostOf(c)} | ${c.saturated ? 'yes' : 'no'} |`
      ),
      ''
    )
    const timeouts = timeoutRows(r.simulation.result)
    if (timeouts.length > 0) {
      lines.push(
        '### Timeouts and retries',
        '',
        `| ${TIMEOUT_HEAD.join(' | ')} |`,
        `|${' --- |'.repeat(TIMEOUT_HEAD.length)}`,
        // The link names are the learner's text; the figures are ours.
        ...timeouts.map(([link, ...figures]) => `| ${mdEscape(link)} | ${figures.join(' | ')} |`),
        ''
      )
    }
    const analysis = r.simulation.result.analysis
    for (const section of analysis ? analysisSections(analysis, r.traffic.latencySloMs) : []) {
      lines.push(`### ${section.title}`, '')
      if (section.note) lines.push(section.note, '')
      if (section.rows.length > 0) {
        lines.push(
          `| ${section.head.join(' | ')} |`,
          `|${' --- |'.repeat(section.head.length)}`,
          // Component names are the learner's text; the figures are ours.
          ...section.rows.map(([name, ...rest]) => `| ${mdEscape(name)} | ${rest.join(' | ')} |`),
          ''
        )
      }
    }
  } else lines.push('## Latest simulation', '', 'No completed simulation yet.', '')
  if (r.grade) {
    lines.push(`## Grade: ${r.grade.score}/100`, '')
    for (const i of r.grade.items) {
      lines.push(
        `- **${i.passed ? 'Pass' : 'Fail'}** ${mdEscape(i.title)} (${i.points}/${i.maxPoints}): ${mdEscape(i.finding)} _${mdEscape(i.suggestion)}_`
      )
    }
    lines.push('')
  }
  return lines.join('\n')
}

const esc = (s: string | number) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string
  )

/** The least the architecture is scaled to fit the page: its 11.5 px detail lines stay above 9 px. */
const MIN_SCALE = 0.8

const FILLS: Record<UtilizationBand, string> = { over: '#e8625a', high: '#f7b267', mid: '#fbe7a6', low: '#d7efdd' }
const BAND_FILL = (u: number) => FILLS[utilizationBand(u)]

/**
 * The architecture as the learner drew it (or laid out in layers): each component coloured by
 * its utilisation and labelled with it (colour is not the only signal), the bottleneck outlined
 * and dashed, lossy or saturated ones marked, links labelled with shares and timeouts.
 */
export function architectureSvg(design: Design, result: SimulationResult | null): string {
  const at = positions(design)
  const byId = new Map((result?.components ?? []).map((c) => [c.id, c]))
  const xs = [...at.values()]
  const minX = Math.min(0, ...xs.map((p) => p.x)) - 20
  const minY = Math.min(0, ...xs.map((p) => p.y)) - 30
  const width = Math.max(...xs.map((p) => p.x)) + NODE_W + 40 - minX
  const height = Math.max(...xs.map((p) => p.y)) + NODE_H + 40 - minY
  const centre = (id: string) => {
    const p = at.get(id) ?? { x: 0, y: 0 }
    return { x: p.x + NODE_W / 2, y: p.y + NODE_H / 2 }
  }
  // Where the segment between two centres leaves a box.
  const edge = (a: { x: number; y: number }, b: { x: number; y: number }) => {
    const dx = b.x - a.x
    const dy = b.y - a.y
    const s = Math.min(dx === 0 ? 1 : NODE_W / 2 / Math.abs(dx), dy === 0 ? 1 : NODE_H / 2 / Math.abs(dy), 1)
    return { x: a.x + dx * s, y: a.y + dy * s }
  }
  const timeouts = new Map((result?.links ?? []).map((l) => [`${l.from}->${l.to}`, l]))
  // Labels go where they cover no node and no other label: the middle of their link if it is
  // free, else the free point nearest it along the link (the middle when none is).
  const taken: Box[] = xs.map((p) => ({ x1: p.x - 2, y1: p.y - 2, x2: p.x + NODE_W + 2, y2: p.y + NODE_H + 2 }))
  const labels: string[] = []
  const place = (text: string, p: { x: number; y: number }, q: { x: number; y: number }, link: string) => {
    const boxAt = (t: number) => labelBox(text, p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t - 5)
    const spot = [0.5, 0.38, 0.62, 0.26, 0.74, 0.14, 0.86].map(boxAt).find((b) => !taken.some((o) => overlaps(b, o)))
    const box = spot ?? boxAt(0.5)
    taken.push(box)
    labels.push(
      `<text data-label-for="${esc(link)}" x="${(box.x1 + box.x2) / 2}" y="${box.y2 - LABEL_DESCENT}" font-size="${LABEL_FONT}" text-anchor="middle" fill="#444" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(text)}</text>`
    )
  }
  const links = design.links
    .map((l) => {
      const p = edge(centre(l.from), centre(l.to))
      const q = edge(centre(l.to), centre(l.from))
      const t = timeouts.get(`${l.from}->${l.to}`)
      const label = [
        l.share !== undefined && l.share !== 1 ? `${Math.round(l.share * 1000) / 10}%` : '',
        l.traffic && l.traffic !== 'both' ? `${l.traffic}s` : '',
        l.timeoutMs !== undefined
          ? `timeout ${l.timeoutMs} ms${t ? `, ${(t.timeoutShare * 100).toFixed(1)}% time out` : ''}`
          : ''
      ]
        .filter(Boolean)
        .join(' · ')
      if (label) place(label, p, q, `${l.from}->${l.to}`)
      return `<g data-link="${esc(`${l.from}->${l.to}`)}"><line x1="${p.x}" y1="${p.y}" x2="${q.x}" y2="${q.y}" stroke="#5b6475" stroke-width="1.6" marker-end="url(#arrow)"/></g>`
    })
    .join('')
  const nodes = design.components
    .map((c) => {
      const p = at.get(c.id) ?? { x: 0, y: 0 }
      const r = byId.get(c.id)
      const bottleneck = result?.overall.bottleneck === c.id
      const lossy = r ? r.saturated || (r.lossRate ?? 0) > 0 : false
      const detail = r ? `ρ ${Math.round(r.utilization * 100)}% · p95 ${ms(r.p95LatencyMs)}` : c.type
      const label = c.id.length > 18 ? `${c.id.slice(0, 17)}…` : c.id
      return `<g data-component="${esc(c.id)}"${bottleneck ? ' data-bottleneck="true"' : ''}${lossy ? ' data-lossy="true"' : ''} transform="translate(${p.x} ${p.y})"><rect width="${NODE_W}" height="${NODE_H}" rx="8" fill="${r ? BAND_FILL(r.utilization) : '#fff'}" stroke="${bottleneck ? '#b3261e' : '#7d8799'}" stroke-width="${bottleneck ? 4 : 1.5}"${bottleneck ? ' stroke-dasharray="8 4"' : ''}/><text x="10" y="23" font-size="14" font-weight="600" fill="#1d2330">${esc(label)}</text><text x="10" y="42" font-size="11.5" fill="#343b49">${esc(detail)}</text>${bottleneck ? '<text x="0" y="-7" font-size="11" font-weight="700" fill="#b3261e">bottleneck</text>' : ''}${lossy ? `<text x="${NODE_W}" y="-7" font-size="11" font-weight="700" fill="#b3261e" text-anchor="end">${r?.saturated ? 'saturated' : `loses ${((r?.lossRate ?? 0) * 100).toFixed(1)}%`}</text>` : ''}</g>`
    })
    .join('')
  // It shrinks to the page down to MIN_SCALE (labels stay legible) and scrolls sideways beyond that (the
  // report's .diagram); printed, it fits the page whatever its width.
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Architecture" width="${width}" height="${height}" style="max-width:100%;min-width:${Math.round(width * MIN_SCALE)}px;height:auto" viewBox="${minX} ${minY} ${width} ${height}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#5b6475"/></marker></defs>${links}${labels.join('')}${nodes}</svg>`
}

export interface Box {
  x1: number
  y1: number
  x2: number
  y2: number
}

const LABEL_FONT = 11
const LABEL_DESCENT = 3
/** The box a link label of `text` takes, centred on x with its baseline at y (0.56 em a character, sans-serif). */
export const labelBox = (text: string, x: number, y: number): Box => {
  const half = (text.length * LABEL_FONT * 0.56) / 2
  return { x1: x - half, y1: y - LABEL_FONT, x2: x + half, y2: y + LABEL_DESCENT }
}
export const overlaps = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2

/** p95 against offered load over the sweep, with the SLO as a line and the load where it breaks. */
export function loadCurveSvg(analysis: Analysis, sloMs: number, peakRps: number): string {
  const width = 640
  const height = 260
  const pad = { left: 56, right: 16, top: 16, bottom: 40 }
  const points = analysis.sweep
  const maxX = Math.max(...points.map((p) => p.rps))
  // Past saturation the p95 is unbounded (null): drawn at the top of the axis, which stops at 3 × SLO.
  const maxY = Math.max(sloMs * 1.5, Math.min(sloMs * 3, Math.max(...points.map((p) => p.p95 ?? sloMs * 3))))
  const x = (v: number) => pad.left + (v / maxX) * (width - pad.left - pad.right)
  const y = (v: number) => height - pad.bottom - (Math.min(v, maxY) / maxY) * (height - pad.top - pad.bottom)
  const line = points.map((p) => `${x(p.rps).toFixed(1)},${y(p.p95 ?? maxY).toFixed(1)}`).join(' ')
  const breakAt = analysis.sloBreakRps
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="p95 against offered load" width="${width}" height="${height}"><line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/><line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/><line x1="${pad.left}" y1="${y(sloMs)}" x2="${width - pad.right}" y2="${y(sloMs)}" stroke="#b02a37" stroke-dasharray="5 4"/><text x="${width - pad.right}" y="${y(sloMs) - 5}" font-size="11" text-anchor="end" fill="#b02a37">SLO ${esc(sloMs)} ms</text><line x1="${x(peakRps)}" y1="${pad.top}" x2="${x(peakRps)}" y2="${height - pad.bottom}" stroke="#2453c7" stroke-dasharray="2 3"/><text x="${x(peakRps) + 4}" y="${pad.top + 10}" font-size="11" fill="#2453c7">peak</text>${breakAt === null ? '' : `<line x1="${x(breakAt)}" y1="${pad.top}" x2="${x(breakAt)}" y2="${height - pad.bottom}" stroke="#b02a37"/><text x="${x(breakAt) + (x(breakAt) > width / 2 ? -4 : 4)}" y="${pad.top + 24}" font-size="11" text-anchor="${x(breakAt) > width / 2 ? 'end' : 'start'}" fill="#b02a37">${sloBreakCause(analysis, sloMs) === 'errors' ? 'requests lost' : 'SLO missed'} from ${esc(rps(breakAt))}</text>`}<polyline data-curve="p95" points="${line}" fill="none" stroke="#1d2330" stroke-width="2"/><text x="${pad.left}" y="${height - 12}" font-size="11" fill="#444">0</text><text x="${width - pad.right}" y="${height - 12}" font-size="11" text-anchor="end" fill="#444">${esc(Math.round(maxX))} rps offered</text><text x="${pad.left - 6}" y="${pad.top + 10}" font-size="11" text-anchor="end" fill="#444">${esc(Math.round(maxY))} ms</text></svg>`
}

/** Horizontal bars of utilisation per component; red past 1, amber past 0.7. */
function utilisationChart(result: SimulationResult): string {
  const rows = result.components
  const width = 640
  const barHeight = 22
  const label = 160
  const height = rows.length * (barHeight + 8) + 40
  const scaleMax = Math.max(1, ...rows.map((c) => c.utilization))
  const x = (u: number) => label + (u / scaleMax) * (width - label - 60)
  const bars = rows
    .map((c, i) => {
      const y = 20 + i * (barHeight + 8)
      const color = c.utilization >= 1 ? '#c0392b' : c.utilization > 0.7 ? '#e67e22' : '#27ae60'
      return [
        `<text x="${label - 8}" y="${y + 15}" text-anchor="end" font-size="12">${esc(c.id)}</text>`,
        `<rect x="${label}" y="${y}" width="${Math.max(1, x(c.utilization) - label)}" height="${barHeight}" fill="${color}"><title>${esc(c.id)}: ${(c.utilization * 100).toFixed(1)}%</title></rect>`,
        `<text x="${x(c.utilization) + 6}" y="${y + 15}" font-size="12">${(c.utilization * 100).toFixed(1)}%</text>`
      ].join('')
    })
    .join('')
  const limit = `<line x1="${x(0.7)}" y1="10" x2="${x(0.7)}" y2="${height - 20}" stroke="#888" stroke-dasharray="4 3"/><text x="${x(0.7)}" y="${height - 6}" font-size="11" text-anchor="middle">0.7</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Utilisation per component" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${bars}${limit}</svg>`
}

/** p50, p95 and p99 as columns, with the SLO as a line labelled beside them; a column above it is red. */
function latencyChart(result: SimulationResult, sloMs: number): string {
  const o = result.overall
  const points = [
    ['p50', o.p50],
    ['p95', o.p95],
    ['p99', o.p99]
  ] as const
  const width = 440
  const height = 220
  // An unbounded percentile (null) is drawn as a full column labelled so.
  const max = Math.max(sloMs, ...points.map((p) => p[1] ?? sloMs * 2)) * 1.15 || 1
  const y = (v: number) => height - 30 - (v / max) * (height - 50)
  const cols = points
    .map(([name, figure], i) => {
      const v = figure ?? max / 1.15
      const label = ms(figure)
      const x = 50 + i * 100
      const fill = v > sloMs ? '#c0392b' : '#2980b9'
      return `<rect x="${x}" y="${y(v)}" width="60" height="${height - 30 - y(v)}" fill="${fill}"><title>${name}: ${figure === null ? unboundedText(o.overload?.queueGrowthRps ?? 0) : label}</title></rect><text x="${x + 30}" y="${height - 12}" text-anchor="middle" font-size="12">${name}</text><text x="${x + 30}" y="${y(v) - 4}" text-anchor="middle" font-size="11">${label}</text>`
    })
    .join('')
  // The label sits right of the columns, so no column hides it, however high the line is.
  const slo = `<line x1="40" y1="${y(sloMs)}" x2="320" y2="${y(sloMs)}" stroke="#c0392b" stroke-dasharray="5 3"/><text x="326" y="${y(sloMs) + 4}" font-size="11" fill="#c0392b">SLO ${sloMs} ms</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Latency percentiles" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${cols}${slo}</svg>`
}

function html(r: ReportInput): string {
  const sim = r.simulation
  const o = sim?.result.overall
  const table = (head: string[], rows: (string | number)[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
      .map((row) => `<tr>${row.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.workspace.name)} — system design report</title>
<style>body{font-family:sans-serif;max-width:860px;margin:2rem auto;color:#222}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.pass{color:#1e7e34}.fail{color:#b02a37}.diagram{overflow-x:auto}@media print{.diagram{overflow:visible}.diagram svg{min-width:0!important}}</style>
</head><body>
<h1>${esc(r.workspace.name)}</h1>
<p>${esc(r.workspace.description)}</p>
<p>Generated ${esc(r.generatedAt)} from workspace version ${esc(r.workspace.version)}. Peak ${esc(r.traffic.peakRps)} rps, ${esc(Math.round(r.traffic.readRatio * 100))}% reads, p95 SLO ${esc(r.traffic.latencySloMs)} ms.</p>
<h2>Architecture</h2>
<div class="diagram">${architectureSvg(r.design, sim?.result ?? null)}</div>
<h2>Components</h2>
${table(
  ['id', 'type', 'instances', 'concurrency', 'service time (ms)'],
  r.design.components.map((c) => [c.id, c.type, c.instances ?? '–', c.concurrency ?? '–', c.serviceTimeMs ?? '–'])
)}
${
  sim && o
    ? `<h2>Latest simulation</h2>
${fromOlderModel(sim.result) ? `<p>${esc(OLDER_MODEL)}</p>` : ''}
<p>p50 ${esc(ms(o.p50))} · p95 ${esc(ms(o.p95))} · p99 ${esc(ms(o.p99))}${esc(unboundedNote(o))} · throughput ${esc(rps(o.throughputRps))} · errors ${esc((o.errorRate * 100).toFixed(2))}% · bottleneck ${esc(o.bottleneck ?? 'none')} · sustainable to ${esc(rps(o.maxSustainableRps))}</p>
<h3>Utilisation per component</h3>
${utilisationChart(sim.result)}
<h3>Latency percentiles</h3>
${latencyChart(sim.result, r.traffic.latencySloMs)}
${sim.result.analysis ? `<h3>p95 as load grows</h3>\n${loadCurveSvg(sim.result.analysis, r.traffic.latencySloMs, r.traffic.peakRps)}` : ''}
${table(
  ['component', 'arrival (rps)', 'utilisation', 'mean (ms)', 'p95 (ms)', 'lost', 'saturated'],
  sim.result.components.map((c) => [
    c.id,
    rate(c.arrivalRps),
    `${(c.utilization * 100).toFixed(1)}%`,
    cell(c.meanLatencyMs),
    cell(c.p95LatencyMs),
    lostOf(c),
    c.saturated ? 'yes' : 'no'
  ])
)}${timeoutRows(sim.result).length > 0 ? `<h3>Timeouts and retries</h3>${table(TIMEOUT_HEAD, timeoutRows(sim.result))}` : ''}${(sim
  .result.analysis
  ? analysisSections(sim.result.analysis, r.traffic.latencySloMs)
  : []
)
  .map(
    (section) =>
      `<h3>${esc(section.title)}</h3>${section.note ? `<p>${esc(section.note)}</p>` : ''}${section.rows.length > 0 ? table(section.head, section.rows) : ''}`
  )
  .join('')}`
    : '<p>No completed simulation yet.</p>'
}
${
  r.grade
    ? `<h2>Grade: ${esc(r.grade.score)}/100</h2><ul>${r.grade.items
        .map(
          (i) =>
            `<li><strong class="${i.passed ? 'pass' : 'fail'}">${i.passed ? 'Pass' : 'Fail'}</strong> ${esc(i.title)} (${esc(i.points)}/${esc(i.maxPoints)}): ${esc(i.finding)} <em>${esc(i.suggestion)}</em></li>`
        )
        .join('')}</ul>`
    : ''
}
${derivationAppendix(r.derivations)}
</body></html>
`
}
