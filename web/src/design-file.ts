// A design as a file: what "Download the design" writes and the workspaces screen imports. Reading
// one only checks it is a design at all (JSON, a list of components and one of links); the api then
// validates it like any design and its refusals are shown in its plain words.
import type { Design } from './design.ts'

export type DesignFile = { design: Design } | { error: string }

/** The design in a file's text, or a sentence saying why it is not one. */
export function readDesignFile(text: string): DesignFile {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return { error: 'That file is not a design: it is not JSON.' }
  }
  // A whole workspace (an export, or the api's answer) carries its design inside.
  const inner = (data as { design?: unknown } | null)?.design
  const candidate = (inner && typeof inner === 'object' ? inner : data) as Record<string, unknown> | null
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    !Array.isArray(candidate.components) ||
    !Array.isArray(candidate.links)
  )
    return { error: 'That file is not a design: it needs a list of components and a list of links.' }
  return { design: { components: candidate.components, links: candidate.links } as Design }
}

/** A workspace's name from the file's: "shop.design.json" → "shop". */
export const nameFromFile = (fileName: string): string =>
  fileName.replace(/(\.design)?\.json$/i, '').slice(0, 120) || 'Imported design'
