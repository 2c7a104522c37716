import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql, TransactionSql } from './client.ts'

export const MIGRATIONS_DIR = new URL('../../sql/migrations/', import.meta.url).pathname
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/
// Any constant works; it only has to be the same for every runner of this app.
const MIGRATION_LOCK_ID = 7_346_201_001

export interface MigrationFile {
  version: number
  name: string
  file: string
  checksum: string
  sql: string
}

export interface MigrationStatus {
  applied: { version: number; name: string; appliedAt: Date; checksumMatches: boolean }[]
  pending: { version: number; name: string }[]
  drifted: { version: number; name: string }[]
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MigrationError'
  }
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()
  const files: MigrationFile[] = []
  for (const [index, file] of names.entries()) {
    const match = FILE_NAME.exec(file)
    if (!match) throw new MigrationError(`${file}: migration files are named NNNN_snake_name.sql`)
    const version = Number(match[1])
    if (version !== index + 1) {
      throw new MigrationError(
        `${file}: expected version ${String(index + 1).padStart(4, '0')}, numbering must be contiguous`
      )
    }
    const text = await readFile(join(dir, file), 'utf8')
    files.push({ version, name: match[2], file, sql: text, checksum: sha256(text) })
  }
  return files
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

async function ensureTable(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // create … if not exists still races between two runners; the lock makes it safe.
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`
    await tx`create schema if not exists app`
    await tx`
    create table if not exists app.schema_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )
  `
  })
}

export async function migrationStatus(sql: Sql, dir = MIGRATIONS_DIR): Promise<MigrationStatus> {
  const files = await readMigrations(dir)
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    select to_regclass('app.schema_migrations') is not null as exists
  `
  const rows = exists
    ? await sql<{ version: number; name: string; checksum: string; applied_at: Date }[]>`
        select version, name, checksum, applied_at
        from app.schema_migrations
        order by version
      `
    : []
  const byVersion = new Map(files.map((f) => [f.version, f]))
  const appliedVersions = new Set(rows.map((r) => r.version))
  const applied = rows.map((r) => ({
    version: r.version,
    name: r.name,
    appliedAt: r.applied_at,
    checksumMatches: byVersion.get(r.version)?.checksum === r.checksum
  }))
  return {
    applied,
    pending: files.filter((f) => !appliedVersions.has(f.version)).map(({ version, name }) => ({ version, name })),
    drifted: applied.filter((a) => !a.checksumMatches).map(({ version, name }) => ({ version, name }))
  }
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock so
 * concurrent runners apply every file once. Refuses to run when an applied file changed.
 */
/** From this migration on (0014 fixed the ones before it), no definer function may have a loose search_path. */
const DEFINER_RULE_FROM = 14
export const DEFINER_SEARCH_PATH = 'search_path=pg_catalog, pg_temp'

/** The SECURITY DEFINER functions of schema app whose search_path is not exactly pg_catalog, pg_temp. */
export async function looseDefiners(sql: Sql | TransactionSql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select p.oid::regprocedure::text as name
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'app'
      and p.prosecdef
      and not coalesce(${DEFINER_SEARCH_PATH} = any(p.proconfig), false)
    order by 1
  `
  return rows.map((r) => r.name)
}

/** 0014_definer_role.sql */
const DEFINER_ROLE_MIGRATION = 14

/**
 * 0014 hands its functions to sdc_definer, which must hold CREATE on `app` by then. A superuser
 * skips that check; an owner that is none (sql/roles.sql made the role ahead) needs the grant first.
 */
async function letDefinerOwnFunctions(tx: TransactionSql): Promise<void> {
  const [role] = await tx`select 1 from pg_catalog.pg_roles where rolname = 'sdc_definer'`
  if (role) await tx`grant usage, create on schema app to sdc_definer`
}

async function refuseLooseDefiners(tx: TransactionSql): Promise<void> {
  const loose = await looseDefiners(tx)
  if (loose.length > 0) {
    throw new Error(
      `SECURITY DEFINER functions must set ${DEFINER_SEARCH_PATH.replace('=', ' = ')}: ${loose.join(', ')}`
    )
  }
}

export async function migrate(
  sql: Sql,
  { dir = MIGRATIONS_DIR, log = (_line: string) => {} }: { dir?: string; log?: (line: string) => void } = {}
): Promise<{ applied: string[] }> {
  const files = await readMigrations(dir)
  await ensureTable(sql)
  const rows = await sql<{ version: number; checksum: string }[]>`
    select version, checksum
    from app.schema_migrations
  `
  const appliedChecksums = new Map(rows.map((r) => [r.version, r.checksum]))
  const drifted = files.filter((f) => appliedChecksums.has(f.version) && appliedChecksums.get(f.version) !== f.checksum)
  if (drifted.length > 0) {
    throw new MigrationError(
      `applied migrations were edited after they ran: ${drifted.map((f) => f.file).join(', ')}; ` +
        'restore them and add a new migration instead'
    )
  }
  const applied: string[] = []
  for (const file of files) {
    if (appliedChecksums.has(file.version)) continue
    const ran = await sql
      .begin(async (tx) => {
        // Concurrent runners queue here; the one that gets the lock second sees the row and skips.
        await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`
        const [done] = await tx`select 1 from app.schema_migrations where version = ${file.version}`
        if (done) return false
        if (file.version === DEFINER_ROLE_MIGRATION) await letDefinerOwnFunctions(tx)
        await tx.unsafe(file.sql).simple()
        if (file.version >= DEFINER_RULE_FROM) await refuseLooseDefiners(tx)
        await tx`
          insert into app.schema_migrations ${tx({ version: file.version, name: file.name, checksum: file.checksum })}
        `
        return true
      })
      .catch((err: Error) => {
        throw new MigrationError(`${file.file} failed and was rolled back: ${err.message}`)
      })
    if (ran) {
      applied.push(file.file)
      log(`applied ${file.file}`)
    }
  }
  return { applied }
}
