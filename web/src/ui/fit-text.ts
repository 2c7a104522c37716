// A node's label fitted to its box: the name and the detail wrapped onto lines that fit its width
// (at a space, after a hyphen, underscore or dot, else between letters), smaller when the lines are
// too many for its height, never cut short. Pure but for the measure the page passes in, so
// test/web/fit-text.test.ts checks it without a page.

/** Width in pixels of a text at a font size (px) and weight. */
export type Measure = (text: string, size: number, weight: number) => number

export interface FittedLine {
  text: string
  /** Which part of the label: the name (`id`) or the detail. */
  part: 'id' | 'detail'
  size: number
  /** The line's baseline, from the top of the box. */
  y: number
  /** Set when even the smallest size leaves it wider than the box: the line is drawn this wide. */
  textLength?: number
}

const ID_SIZE = 14
const DETAIL_SIZE = 11.5
const ID_WEIGHT = 600
const DETAIL_WEIGHT = 400
/** Line height over font size. */
const LEADING = 1.18
/** Sizes tried, largest first: a tenth of the size smaller each time. */
const SCALES = [1, 0.9, 0.8]
const MAX_LINES = { id: 2, detail: 2 }

/** The pieces a text may break between: after a space, a hyphen or an underscore (not a no-break space). */
const pieces = (text: string) => text.match(/[^ \-_]*[ \-_]*/g)?.filter(Boolean) ?? [text]

/** Greedy wrapping at the break points; a piece wider than a line is broken between letters. */
export function wrap(text: string, fits: (s: string) => boolean): string[] {
  const lines: string[] = []
  let line = ''
  for (const piece of pieces(text)) {
    if (fits((line + piece).trimEnd())) {
      line += piece
      continue
    }
    if (line) lines.push(line)
    line = ''
    if (fits(piece.trimEnd())) {
      line = piece
      continue
    }
    for (const ch of piece) {
      if (line && !fits((line + ch).trimEnd())) {
        lines.push(line)
        line = ''
      }
      line += ch
    }
  }
  // A line's trailing space stays in its text (the label reads as words) but takes no width.
  if (line || lines.length === 0) lines.push(line)
  return lines
}

/**
 * The lines of a node's label in a box `width` × `height` (pixels): the name, then the detail,
 * centred on the box's height, at the largest size of SCALES at which each part takes at most two
 * lines and all fit the height; past the smallest, each line is drawn no wider than the box.
 */
export function fitLabel(id: string, detail: string, width: number, height: number, measure: Measure): FittedLine[] {
  let chosen: FittedLine[] = []
  for (const scale of SCALES) {
    const idSize = ID_SIZE * scale
    const detailSize = DETAIL_SIZE * scale
    const idLines = wrap(id, (s) => measure(s, idSize, ID_WEIGHT) <= width)
    const detailLines = detail ? wrap(detail, (s) => measure(s, detailSize, DETAIL_WEIGHT) <= width) : []
    const total = idLines.length * idSize * LEADING + detailLines.length * detailSize * LEADING
    const fits = idLines.length <= MAX_LINES.id && detailLines.length <= MAX_LINES.detail && total <= height
    const last = scale === SCALES[SCALES.length - 1]
    if (!fits && !last) continue
    // Past the smallest size: the lines beyond the most a part may take join its last line, drawn to the width.
    const keep = (lines: string[], max: number) =>
      lines.length <= max ? lines : [...lines.slice(0, max - 1), lines.slice(max - 1).join('')]
    const idKept = keep(idLines, MAX_LINES.id)
    const detailKept = keep(detailLines, MAX_LINES.detail)
    const used = idKept.length * idSize * LEADING + detailKept.length * detailSize * LEADING
    let y = Math.max(0, (height - used) / 2)
    chosen = []
    for (const [part, lines, size, weight] of [
      ['id', idKept, idSize, ID_WEIGHT],
      ['detail', detailKept, detailSize, DETAIL_WEIGHT]
    ] as const) {
      for (const text of lines) {
        // The baseline sits about a fifth of the line above its foot.
        y += size * LEADING
        const line: FittedLine = {
          text,
          part,
          size: Math.round(size * 100) / 100,
          y: Math.round((y - size * 0.27) * 10) / 10
        }
        if (measure(text.trimEnd(), size, weight) > width) line.textLength = width
        chosen.push(line)
      }
    }
    break
  }
  return chosen
}
