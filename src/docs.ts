import type { RouteEntry } from '../plugins/route-table.ts'
import {
  boundsText,
  CATALOGUE,
  type Catalogue,
  COMPONENT_FIELDS,
  type NumberField,
  TRAITS,
  typesWith
} from './domain/components.ts'

const WHO: Record<string, string> = {
  public: 'anyone',
  user: 'signed-in user or admin',
  admin: 'admin only'
}

/**
 * The environment the matrix is rendered in, so it lists every route whatever the operator's
 * own settings: /metrics on (its guard is its own rule), the docs UI off (static files, public).
 */
export const MATRIX_ENV: Readonly<Record<string, string>> = Object.freeze({
  METRICS_ENABLED: 'true',
  METRICS_GUARD: 'secret',
  METRICS_GUARD_SECRET: 'matrix-rendering-only-secret',
  DOCS_ENABLED: 'false',
  LOG_LEVEL: 'warn'
})

/** docs/authz-matrix.md, rendered from the live route table (`npm run docs`). */
export function renderAuthzMatrix(routes: readonly RouteEntry[]): string {
  const rows = routes
    .filter((r) => !(r.method === 'OPTIONS' && r.url.endsWith('*')))
    .slice()
    .sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))
    .map((r) => {
      const cell = (role: 'anonymous' | 'user' | 'admin') => {
        if (r.auth === 'public') return 'yes'
        if (role === 'anonymous') return '401'
        if (r.auth === 'admin' && role === 'user') return '403'
        return 'yes'
      }
      return `| ${r.method} | \`${r.url}\` | ${WHO[r.auth ?? ''] ?? 'UNDECLARED'} | ${cell('anonymous')} | ${cell('user')} | ${cell('admin')} | ${r.ownership ?? '—'} | ${r.audit ? `\`${r.audit.action}\`` : r.unaudited ? `none: ${r.unaudited}` : '—'} |`
    })
  return [
    '# Authorization matrix',
    '',
    'Generated from the route table by `npm run docs`; a test fails when this file is stale.',
    'Every route declares `config.auth`; an owned resource of another user answers 404, never 403.',
    'CORS preflights (`OPTIONS *`) are answered by @fastify/cors before any route and need no token.',
    '`/metrics` exists only with METRICS_ENABLED=true and then answers 403 unless its guard (secret or CIDR) admits the caller.',
    'Swagger UI under `/docs` (development only by default) is public and serves static files.',
    '',
    '| method | route | who may call | anonymous | user | admin | ownership rule | audit action |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    ''
  ].join('\n')
}

const COMPONENTS_START =
  '<!-- components (npm run docs:components writes this block from src/domain/components.ts) -->\n'
const COMPONENTS_END = '<!-- /components -->'

/** docs/simulation.md's component types and their fields, rendered from a catalogue. */
export function renderComponentTable(catalogue: Catalogue): string {
  const cell = (x: string) => x.replaceAll('|', '\\|')
  const types = Object.entries(catalogue).map(([type, k]) => {
    const starts = Object.entries(k.defaults)
      .map(([field, value]) => `${field} ${value}`)
      .join(', ')
    return `| \`${type}\` | ${k.label} | ${cell(k.summary)} | ${k.traits.join(', ') || '—'} | ${k.routing} | ${k.availability} | ${k.costPerMonth} | ${starts || 'its id and type'} |`
  })
  const fields = (Object.entries(COMPONENT_FIELDS) as [string, NumberField][]).map(([key, f]) => {
    const who = f.trait
      ? `${f.trait}: ${typesWith(catalogue, f.trait).join(', ')}`
      : f.required
        ? 'every type but a source (required)'
        : 'every type but a source'
    return `| \`${key}\` | ${who} | ${boundsText(f)} | ${cell(f.description)} |`
  })
  return [
    COMPONENTS_START.trimEnd(),
    '| type | label | stands for | traits | default routing | availability of one instance | cost of one instance (USD a month) | a new one starts with |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...types,
    '',
    ...Object.entries(TRAITS).map(([trait, meaning]) => `- **${trait}**: ${meaning}.`),
    '',
    '| field | who has it | bounds (else 422) | meaning |',
    '| --- | --- | --- | --- |',
    ...fields,
    COMPONENTS_END
  ].join('\n')
}

/** `doc` with the block between its `start` and `end` markers (both kept) replaced by `block`. */
export function replaceBlock(doc: string, start: string, end: string, block: string): string {
  const from = doc.indexOf(start)
  const to = doc.indexOf(end)
  if (from < 0 || to < from) throw new Error(`no ${start.trim()} … ${end} block`)
  return doc.slice(0, from) + block + doc.slice(to + end.length)
}

/** The document with its component block replaced by `block`. */
export const withComponentTable = (doc: string, block: string) =>
  replaceBlock(doc, COMPONENTS_START, COMPONENTS_END, block)

if (import.meta.main) {
  const { readFile, writeFile } = await import('node:fs/promises')
  const target = new URL('../docs/simulation.md', import.meta.url)
  await writeFile(target, withComponentTable(await readFile(target, 'utf8'), renderComponentTable(CATALOGUE)))
  process.stdout.write(`wrote ${target.pathname}\n`)
}
