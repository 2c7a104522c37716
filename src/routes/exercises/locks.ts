import type { TransactionSql } from '../../db/client.ts'
import { LOCKED_FIELDS } from '../../domain/exercises.ts'
import { RequirementLocked } from '../../errors.ts'
import { lockedTraffic } from './store.ts'

/**
 * An exercise attempt's traffic profile is its requirements: a PATCH that changes one is refused
 * (422, not the 409 the web app's autosave reads as a version conflict); the same value passes.
 */
export async function refuseLockedChanges(
  tx: TransactionSql,
  workspace: { id: string; ownerId: string },
  body: Record<string, unknown>
) {
  const locked = await lockedTraffic(tx, workspace.id, workspace.ownerId)
  if (!locked) return
  const changed = LOCKED_FIELDS.filter(
    (f) => body[f] !== undefined && f in locked && (body[f] ?? null) !== (locked[f] ?? null)
  )
  if (changed.length > 0)
    throw new RequirementLocked(
      `This workspace is an exercise attempt: ${changed.join(', ')} ${changed.length === 1 ? 'is a requirement' : 'are requirements'} of the exercise and cannot change`
    )
}
