import type { RouteEntry } from '../plugins/route-table.ts'

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
      return `| ${r.method} | \`${r.url}\` | ${WHO[r.auth ?? ''] ?? 'UNDECLARED'} | ${cell('anonymous')} | ${cell('user')} | ${cell('admin')} | ${r.ownership ?? '—'} | ${r.audit ? `\`${r.audit.action}\`` : '—'} |`
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
