import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from './client.ts'

export const HEALTH_DIR = new URL('../../sql/health/', import.meta.url).pathname

export interface HealthCheck {
  name: string
  /** The comment on the file's first line. */
  title: string
  sql: string
}

export async function readHealthChecks(dir = HEALTH_DIR): Promise<HealthCheck[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(dir, file), 'utf8')
      return { name: file.replace(/\.sql$/, ''), title: sql.split('\n')[0].replace(/^--\s*/, ''), sql }
    })
  )
}

export async function runHealthCheck(sql: Sql, check: HealthCheck): Promise<Record<string, unknown>[]> {
  // A trusted file from the repository, run whole (the one place besides migrations that uses unsafe).
  const rows = await sql.unsafe(check.sql.trim().replace(/;\s*$/, ''))
  return rows.map((row) => ({ ...row }))
}

export interface Breach {
  baseline: string
  value: number
  threshold: number
}

/** Runs slo.sql and returns the breached baselines. */
export async function breachedBaselines(
  sql: Sql,
  checks: HealthCheck[]
): Promise<{ rows: Record<string, unknown>[]; breaches: Breach[] }> {
  const slo = checks.find((c) => c.name === 'slo')
  if (!slo) throw new Error('sql/health/slo.sql is missing')
  const rows = await runHealthCheck(sql, slo)
  const breaches = rows
    .filter((r) => r.breached === true)
    .map((r) => ({ baseline: String(r.baseline), value: Number(r.value), threshold: Number(r.threshold) }))
  return { rows, breaches }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** A plain-text table, as psql would print it. */
export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)'
  const columns = Object.keys(rows[0])
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))))
  const line = (values: string[]) => values.map((v, i) => v.slice(0, 60).padEnd(widths[i])).join(' | ')
  return [
    line(columns),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...rows.map((r) => line(columns.map((c) => cell(r[c]))))
  ].join('\n')
}
