import { readdirSync, readFileSync } from 'node:fs'

// postgres.js 3.4.9 is patched at install by patch-package from patches/postgres+3.4.9+*.patch
// (the correctness fixes, the write coalescing, the queue compaction). The api and the worker check at
// start that every hunk is in the installed driver: production refuses to run without them.

const PATCHES = new URL('../../patches/', import.meta.url)

export interface DriverFix {
  /** The driver's file the hunk changes, e.g. `src/connection.js`. */
  file: string
  /** The `// sdc:` comment the hunk adds, which says what it fixes and where upstream tracks it. */
  why: string
  /** The text the hunk replaces, and the text it leaves (its context and added lines). */
  before: string
  after: string
}

/** Every hunk of the driver's patches, in the order patch-package applies them. */
export function driverFixes(dir: URL = PATCHES): DriverFix[] {
  const fixes: DriverFix[] = []
  for (const name of readdirSync(dir)
    .filter((n) => /^postgres\+.*\.patch$/.test(n))
    .sort()) {
    let file = ''
    let hunk: { before: string[]; after: string[] } | null = null
    const close = () => {
      if (!hunk) return
      const comment = hunk.after.find((l) => l.includes('// sdc: '))
      const why = comment ? comment.slice(comment.indexOf('// sdc: ') + 8).replace(/ \([^)]*\)$/, '') : `${name}`
      fixes.push({ file, why, before: hunk.before.join('\n'), after: hunk.after.join('\n') })
      hunk = null
    }
    for (const line of readFileSync(new URL(name, dir), 'utf8').split('\n')) {
      if (line.startsWith('diff --git ')) {
        close()
        file = line.split(' b/node_modules/postgres/')[1] ?? ''
      } else if (line.startsWith('@@')) {
        close()
        hunk = { before: [], after: [] }
      } else if (hunk && line.startsWith('+')) hunk.after.push(line.slice(1))
      else if (hunk && line.startsWith('-')) hunk.before.push(line.slice(1))
      else if (hunk && line.startsWith(' ')) {
        hunk.before.push(line.slice(1))
        hunk.after.push(line.slice(1))
      }
    }
    close()
  }
  return fixes
}

/** The fixes a copy of one of the driver's files lacks (empty when it is fully patched). */
export function missingFixes(text: string, file: string, fixes: DriverFix[] = driverFixes()): string[] {
  return fixes.filter((f) => f.file === file && !text.includes(f.after)).map((f) => f.why)
}
