import type { Config } from '../config.ts'
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.ts'

/**
 * The database URL for a process: DATABASE_URL when set, otherwise (outside production,
 * which config refuses) the embedded PostgreSQL under .data/.
 */
export async function resolveDatabase(
  config: Config,
  log: (line: string) => void
): Promise<{ url: string; embedded: EmbeddedPostgres | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null }
  const embedded = await startEmbeddedPostgres({
    dataDir: config.embeddedPostgres.dataDir,
    port: config.embeddedPostgres.port,
    database: 'sdc',
    log
  })
  return { url: embedded.url, embedded }
}
