import type { Config } from '../config.ts'
import type { TransactionSql } from '../db/client.ts'
import { QuotaExceeded, QuotaReached } from '../errors.ts'
import { exportsToday } from '../exports/store.ts'
import { runCounts } from '../runs/runs.ts'
import { workspaceCount } from '../workspaces/shared.ts'

// Per-user limits, checked inside the transaction that would create the row. A user's creations
// are serialised by a transaction-scoped advisory lock, so two requests at once cannot both pass
// the last free slot; other users never wait on it.

const lockUser = (tx: TransactionSql, kind: string, ownerId: string) =>
  tx`select pg_advisory_xact_lock(hashtextextended(${`quota:${kind}:${ownerId}`}, 0))`

const secondsUntilDayAfter = (oldest: Date | null) =>
  oldest ? (oldest.getTime() + 86_400_000 - Date.now()) / 1000 : 60

/** Runs queued or running, runs in the last 24 hours, and runs stored, against the user's limits. */
export async function checkRunQuota(tx: TransactionSql, ownerId: string, quotas: Config['quotas']): Promise<void> {
  await lockUser(tx, 'runs', ownerId)
  const row = await runCounts(tx, ownerId, { active: quotas.activeRuns, perDay: quotas.runsPerDay })
  if (row.active >= quotas.activeRuns)
    throw QuotaExceeded(`At most ${quotas.activeRuns} runs may be queued or running at once; wait for one to finish`, 5)
  if (row.today >= quotas.runsPerDay)
    throw QuotaExceeded(`At most ${quotas.runsPerDay} runs a day`, secondsUntilDayAfter(row.oldest))
  if (row.stored >= quotas.storedRuns)
    throw new QuotaReached(`At most ${quotas.storedRuns} stored runs; delete workspaces you no longer need`)
  await checkStorageQuota(tx, ownerId, quotas)
}

const megabytes = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`

/**
 * What the user stores (workspaces, runs, exports; kept by triggers in app.user_storage) against
 * QUOTA_STORAGE_BYTES: checked before anything that stores more. A result written later by the
 * worker may pass it by one run's size; the next write is refused.
 */
export async function checkStorageQuota(tx: TransactionSql, ownerId: string, quotas: Config['quotas']): Promise<void> {
  const [row] = await tx<{ bytes: string }[]>`
    select coalesce((select bytes from app.user_storage where owner_id = ${ownerId}), 0) as bytes
  `
  if (Number(row.bytes) >= quotas.storageBytes)
    throw new QuotaReached(
      `Your ${megabytes(quotas.storageBytes)} of storage are used (workspaces, runs and exports); delete old runs, exports or workspaces`
    )
}

export async function checkWorkspaceQuota(
  tx: TransactionSql,
  ownerId: string,
  quotas: Config['quotas']
): Promise<void> {
  await lockUser(tx, 'workspaces', ownerId)
  if ((await workspaceCount(tx, ownerId)) >= quotas.workspaces)
    throw new QuotaReached(`At most ${quotas.workspaces} workspaces; delete one to create another`)
  await checkStorageQuota(tx, ownerId, quotas)
}

export async function checkExportQuota(tx: TransactionSql, ownerId: string, quotas: Config['quotas']): Promise<void> {
  await lockUser(tx, 'exports', ownerId)
  const row = await exportsToday(tx, ownerId)
  if (row.today >= quotas.exportsPerDay)
    throw QuotaExceeded(`At most ${quotas.exportsPerDay} exports a day`, secondsUntilDayAfter(row.oldest))
  await checkStorageQuota(tx, ownerId, quotas)
}
