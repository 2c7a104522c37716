import { readFile } from 'node:fs/promises'
import type { Sql } from '../../src/db/client.ts'

/** Runs a psql-style file: `:'name'` variables become bound parameters. */
export async function runSqlText(sql: Sql, text: string, vars: Record<string, string> = {}) {
  const values: string[] = []
  const body = text.replace(/:'(\w+)'/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`no value for :'${name}'`)
    values.push(vars[name])
    return `$${values.length}`
  })
  return sql.unsafe(body.trim().replace(/;\s*$/, ''), values)
}

export async function runSqlFile(sql: Sql, path: string, vars: Record<string, string> = {}) {
  return runSqlText(sql, await readFile(new URL(`../../${path}`, import.meta.url), 'utf8'), vars)
}
