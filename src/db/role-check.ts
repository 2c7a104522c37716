import type { Config } from '../config.ts'
import { createSql, type Sql, type StartupLog } from './client.ts'

/** The schemas whose objects the app's role must not own (nor be a member of their owner). */
const APP_SCHEMAS = ['app', 'pgboss']
const NAMED_AT_MOST = 5

/**
 * What makes the role a pool logs in as unfit to run the app: a superuser or a BYPASSRLS role
 * skips row-level security, and an owner (or a member of one) can drop the audit log's triggers.
 * Each problem names DATABASE_URL, never its value; an empty list when the role is fit.
 */
export async function appRoleProblems(sql: Sql): Promise<string[]> {
  const [role] = await sql<{ superuser: boolean; bypassrls: boolean }[]>`
    select rolsuper as superuser, rolbypassrls as bypassrls
    from pg_catalog.pg_roles
    where rolname = current_user
  `
  // A superuser passes every ownership test: saying so once is the whole story.
  if (role.superuser) return ['DATABASE_URL logs in as a superuser']
  const problems: string[] = []
  if (role.bypassrls) problems.push('DATABASE_URL logs in as a role with BYPASSRLS')
  const owned = await sql<{ name: string }[]>`
    select 'schema ' || n.nspname as name
    from pg_catalog.pg_namespace n
    where n.nspname = any(${APP_SCHEMAS}::text[])
      and pg_catalog.pg_has_role(current_user, n.nspowner, 'MEMBER')
    union all
    select * from (
      select 'table ' || n.nspname || '.' || c.relname
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(${APP_SCHEMAS}::text[])
        and c.relkind in ('r', 'p')
        and pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
      order by 1
    ) tables
  `
  if (owned.length > 0) {
    const named = owned.slice(0, NAMED_AT_MOST).map((o) => o.name)
    const more = owned.length > NAMED_AT_MOST ? ` and ${owned.length - NAMED_AT_MOST} more` : ''
    problems.push(`DATABASE_URL logs in as the owner (or a member of the owner) of ${named.join(', ')}${more}`)
  }
  return problems
}

/**
 * The api's and the worker's start-up check of DATABASE_URL's role: production refuses to start
 * (exit 2) on any problem; development and tests warn and go on.
 */
export async function checkAppRoleOrExit(config: Config, url: string, log: StartupLog): Promise<void> {
  const sql = createSql(url, { max: 1, applicationName: 'sdc-role-check' })
  const problems = await appRoleProblems(sql).finally(() => sql.end())
  const advice = 'use a role without those powers, sql/roles.sql’s sdc_app_login (RUNBOOK: the database roles)'
  if (problems.length > 0 && config.isProduction) {
    for (const problem of problems) process.stderr.write(`database role error: ${problem}: ${advice}\n`)
    process.exit(2)
  }
  for (const problem of problems) {
    log(`${problem}: row-level security and the audit log's grants do not bind it; ${advice}`, 'warn')
  }
}
