import { readFile } from 'node:fs/promises'
import postgres from 'postgres'

/** The cluster's roles (run as a superuser): the embedded server, the tests, compose and the RUNBOOK apply it. */
export const ROLES_FILE = new URL('../../sql/roles.sql', import.meta.url).pathname

/** The login roles sql/roles.sql makes (RUNBOOK: "The database roles"). */
export const LoginRoles = {
  /** Runs the migrations and pg-boss's install (DATABASE_OWNER_URL); owns the database. */
  owner: 'sdc_owner',
  /** The api and the worker (DATABASE_URL): a member of sdc_app, owning nothing. */
  app: 'sdc_app_login',
  /** Grafana: a member of sdc_readonly. */
  readonly: 'sdc_grafana',
  /** pg_dump (BACKUP_URL): BYPASSRLS, read-only (pg_read_all_data, read-only transactions). */
  backup: 'sdc_backup'
} as const

/** Holds the app's privileges (migration 0027 grants them); the app's login is a member. */
export const APP_PRIVILEGES_ROLE = 'sdc_app'

// Another constant of this app's advisory locks (7_346_201_001 is the migration runner's).
const ROLES_LOCK_ID = 7_346_201_003

/**
 * Applies sql/roles.sql through `adminUrl` (a superuser's). Runs of this app against one cluster
 * take turns on an advisory lock of the admin database, so two never grant the same role at once.
 */
export async function applyRoles(adminUrl: string): Promise<void> {
  const text = await readFile(ROLES_FILE, 'utf8')
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${ROLES_LOCK_ID})`
      await tx.unsafe(text).simple()
    })
  } finally {
    await admin.end()
  }
}

/** `url` logging in as `role`, without a password: for servers that trust loopback (embedded, tests). */
export function urlAs(url: string, role: string): string {
  const target = new URL(url)
  target.username = role
  target.password = ''
  return target.toString()
}
