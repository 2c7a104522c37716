import type { Config } from '../config.ts'
import { type StartupLog, waitForDatabase } from './client.ts'
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.ts'

/**
 * The database URLs for a process: DATABASE_URL (the app's role) and DATABASE_OWNER_URL (the
 * migrations'; DATABASE_URL when unset) when set, otherwise (outside production, which config
 * refuses) the embedded PostgreSQL under .data/ with its two roles. With `wait`, a long-running
 * process (api, worker) started while DATABASE_URL is unreachable waits for it
 * (DATABASE_STARTUP_TIMEOUT_SECONDS) instead of exiting. `detached` runs the embedded server in
 * its own process group (see EmbeddedPostgresOptions).
 */
export async function resolveDatabase(
  config: Config,
  log: StartupLog,
  { wait = false, detached = false } = {}
): Promise<{ url: string; ownerUrl: string; embedded: EmbeddedPostgres | null }> {
  if (config.databaseUrl) {
    if (wait) await waitForDatabase(config.databaseUrl, { timeoutSeconds: config.databaseStartupTimeoutSeconds, log })
    return { url: config.databaseUrl, ownerUrl: config.databaseOwnerUrl ?? config.databaseUrl, embedded: null }
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: config.embeddedPostgres.dataDir,
    port: config.embeddedPostgres.port,
    database: 'sdc',
    log,
    detached
  })
  return { url: embedded.url, ownerUrl: embedded.ownerUrl, embedded }
}
