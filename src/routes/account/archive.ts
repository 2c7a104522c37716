import type { Sql, TransactionSql } from '../../db/client.ts'
import { withContext } from '../../db/context.ts'
import type { Keyset, Paged } from '../../db/keyset.ts'
import { type ExportRow, exportPage } from '../../exports/store.ts'
import { type GradeRow, gradesOf } from '../../runs/grades.ts'
import { type RunRow, runFieldsOf, runPage } from '../../runs/runs.ts'
import { toTraffic, toWorkspace, trafficOf, type WorkspaceRow, workspacePage } from '../../workspaces/store.ts'
import { toUser, type UserRow } from '../auth/schemas.ts'
import { ARCHIVE_FORMAT } from './schemas.ts'

// The account export as a stream of JSON text: a page of rows at a time, so memory holds one page
// whatever the account's size (the quotas bound the whole: workspaces, stored runs, exports).

/** Rows a page: runs carry their results (tens of kB for a large design), so they come fewer at a time. */
const PAGE = { workspaces: 50, runs: 20, exports: 100 } as const

const toGrade = (g: GradeRow) => ({
  id: g.id,
  simulationId: g.simulation_id,
  status: g.status,
  score: g.score,
  items: g.items,
  checks: g.checks ?? null,
  hintPoints: g.hint_points,
  rubricVersion: g.rubric_version,
  error: g.error,
  createdAt: g.created_at.toISOString(),
  completedAt: g.completed_at?.toISOString() ?? null
})

/** Every page of one section, as JSON array items (`,` between them). */
async function* section<R extends { id: string; key_at: string }>(
  fetch: (key: Keyset | null) => PromiseLike<readonly R[]>,
  limit: number,
  shape: (rows: readonly R[]) => Promise<unknown[]>
): AsyncGenerator<string> {
  let key: Keyset | null = null
  let first = true
  for (;;) {
    const rows = await fetch(key)
    if (rows.length === 0) return
    const items = await shape(rows)
    yield (first ? '' : ',') + items.map((item) => JSON.stringify(item)).join(',')
    first = false
    if (rows.length < limit) return
    const last = rows[rows.length - 1]
    key = { at: last.key_at, id: last.id }
  }
}

/** The archive's JSON text, in chunks: the profile, then workspaces, runs (with their grades) and exports. */
export async function* archiveChunks(sql: Sql, user: UserRow, exportedAt: Date): AsyncGenerator<string> {
  const ownerId = user.id
  // Each page in its own transaction acting for the owner (the row-level security of migration 0035).
  const asOwner = <T>(work: (tx: TransactionSql) => Promise<T>) => withContext(sql, { userId: ownerId }, work)
  const head = { format: ARCHIVE_FORMAT, exportedAt: exportedAt.toISOString(), profile: toUser(user) }
  yield `${JSON.stringify(head).slice(0, -1)},"workspaces":[`
  yield* section<Paged<WorkspaceRow>>(
    (key) => asOwner((tx) => workspacePage(tx, ownerId, key, PAGE.workspaces)),
    PAGE.workspaces,
    async (rows) => {
      const traffic = new Map(
        (
          await asOwner((tx) =>
            trafficOf(
              tx,
              rows.map((w) => w.id)
            )
          )
        ).map((p) => [p.workspace_id, p])
      )
      return rows.map((w) => {
        const profile = traffic.get(w.id)
        return { ...toWorkspace(w), trafficProfile: profile ? toTraffic(profile) : null }
      })
    }
  )
  yield '],"runs":['
  yield* section<Paged<RunRow & { design: unknown; traffic: unknown; result: unknown; predictions: unknown }>>(
    (key) => asOwner((tx) => runPage(tx, ownerId, key, PAGE.runs)),
    PAGE.runs,
    async (rows) => {
      const grades = await asOwner((tx) =>
        gradesOf(
          tx,
          rows.map((r) => r.id)
        )
      )
      return rows.map((r) => ({
        ...runFieldsOf(r),
        result: r.result ?? null,
        design: r.design,
        traffic: r.traffic,
        predictions: r.predictions ?? null,
        grades: grades.filter((g) => g.simulation_id === r.id).map(toGrade)
      }))
    }
  )
  yield '],"exports":['
  yield* section<Paged<ExportRow>>(
    (key) => exportPage(sql, ownerId, key, PAGE.exports),
    PAGE.exports,
    async (rows) =>
      rows.map((e) => ({
        id: e.id,
        workspaceId: e.workspace_id,
        format: e.format,
        status: e.status,
        filename: e.filename,
        contentType: e.content_type,
        error: e.error,
        createdAt: e.created_at.toISOString(),
        completedAt: e.completed_at?.toISOString() ?? null
      }))
  )
  yield ']}'
}
