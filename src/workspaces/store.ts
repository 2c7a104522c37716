import type { FastifyRequest } from 'fastify'
import type { Fragment, Sql, TransactionSql } from '../db/client.ts'
import type { DbContext } from '../db/context.ts'
import { afterKey, type Keyset, type Paged } from '../db/keyset.ts'
import type { Design, DesignDocument, TrafficProfile } from '../domain/model.ts'
import { NotFound } from '../errors.ts'

// The statements on app.workspaces and their traffic profiles that the routes run (the others are
// in shared.ts). A write takes the request's audit row (request.audit) and puts it in front of its
// own statement, so the change and its audit row are one statement.

export interface WorkspaceRow {
  id: string
  owner_id: string
  name: string
  description: string
  design: Design
  version: number
  created_at: Date
  updated_at: Date
}

export interface TrafficRow {
  workspace_id: string
  peak_rps: number
  read_ratio: number
  payload_kb: number
  latency_slo_ms: number
  budget_per_month: number | null
  availability_target: number | null
  arrival_cv: number
  version: number
  updated_at: Date
}

export function toWorkspace(row: WorkspaceRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    design: row.design,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

/** A traffic profile's own columns, without its workspace, version and time. */
export type ProfileColumns = Omit<TrafficRow, 'workspace_id' | 'version' | 'updated_at'>

/** A traffic profile's figures as the API names them. */
export function profileOf(row: ProfileColumns) {
  return {
    peakRps: row.peak_rps,
    readRatio: row.read_ratio,
    payloadKb: row.payload_kb,
    latencySloMs: row.latency_slo_ms,
    budgetPerMonth: row.budget_per_month,
    availabilityTarget: row.availability_target,
    arrivalCv: row.arrival_cv
  }
}

export function toTraffic(row: TrafficRow) {
  return {
    workspaceId: row.workspace_id,
    ...profileOf(row),
    version: row.version,
    updatedAt: row.updated_at.toISOString()
  }
}

/** The caller's workspace or a 404: another user's id is indistinguishable from a missing one. */
export async function ownedWorkspace(
  sql: Sql | TransactionSql,
  request: FastifyRequest,
  id: string
): Promise<WorkspaceRow> {
  const [row] = await sql<WorkspaceRow[]>`
    select *
    from app.workspaces
    where id = ${id}
      and owner_id = ${request.user?.id as string}
  `
  if (!row) throw new NotFound('Workspace')
  return row
}

/**
 * The caller's workspace or a 404, read as one statement outside a transaction: the read sets its
 * own context (app.workspace_as, migration 0036) and the row-level security policies decide, as in
 * `withContext`, without its BEGIN, SET LOCAL and COMMIT. Takes the pool, never a transaction,
 * whose context it would replace.
 */
export async function workspaceAs(sql: Sql, context: DbContext, id: string): Promise<WorkspaceRow> {
  const [row] = await sql<WorkspaceRow[]>`
    select * from app.workspace_as(${context.userId}, ${context.organisationId ?? null}, ${id})
  `
  if (!row) throw new NotFound('Workspace')
  return row
}

/** A page of the owner's workspaces, newest first, one row more than `limit`. */
export function listWorkspaces(sql: Sql | TransactionSql, ownerId: string, after: Fragment, limit: number) {
  return sql<(WorkspaceRow & { component_count: number })[]>`
    select id, name, description, version, created_at, updated_at,
           jsonb_array_length(design -> 'components') as component_count
    from app.workspaces
    where owner_id = ${ownerId}
      ${after}
    order by created_at desc, id desc
    limit ${limit + 1}
  `
}

/** A workspace's name and design as the caller's policies let them read it (an instructor a learner's attempt); none otherwise. */
export async function visibleWorkspace(sql: Sql | TransactionSql, id: string) {
  const [row] = await sql<{ id: string; name: string; design: Design }[]>`
    select id, name, design from app.workspaces where id = ${id}
  `
  return row
}

/** A page of the data export's workspaces, oldest first, after `key`. */
export function workspacePage(sql: Sql | TransactionSql, ownerId: string, key: Keyset | null, limit: number) {
  return sql<Paged<WorkspaceRow>[]>`
    select *, created_at::text as key_at
    from app.workspaces
    where owner_id = ${ownerId}
      ${afterKey(sql, key)}
    order by created_at, id
    limit ${limit}
  `
}

/** The traffic profiles of these workspaces (the data export's, a page at a time). */
export function trafficOf(sql: Sql | TransactionSql, workspaceIds: string[]) {
  return sql<TrafficRow[]>`
    select *
    from app.traffic_profiles
    where workspace_id = any(${workspaceIds}::uuid[])
  `
}

export interface NewWorkspace {
  id: string
  ownerId: string
  name: string
  description: string
  design: Design
  traffic: {
    peakRps: number
    readRatio: number
    payloadKb: number
    latencySloMs: number
    budgetPerMonth?: number | null
    availabilityTarget?: number | null
    arrivalCv?: number
  }
}

/** The workspace and its traffic profile, issued together (postgres.js pipelines them). */
export async function insertWorkspace(tx: TransactionSql, audit: Fragment, w: NewWorkspace): Promise<WorkspaceRow> {
  const [[created]] = await Promise.all([
    tx<WorkspaceRow[]>`
      with audit_row as (${audit})
      insert into app.workspaces ${tx({ id: w.id, owner_id: w.ownerId, name: w.name, description: w.description, design: w.design as never })}
      returning *
    `,
    tx`
      insert into app.traffic_profiles ${tx({
        workspace_id: w.id,
        peak_rps: w.traffic.peakRps,
        read_ratio: w.traffic.readRatio,
        payload_kb: w.traffic.payloadKb,
        latency_slo_ms: w.traffic.latencySloMs,
        budget_per_month: w.traffic.budgetPerMonth ?? null,
        availability_target: w.traffic.availabilityTarget ?? null,
        arrival_cv: w.traffic.arrivalCv ?? 1
      })}
    `
  ])
  return created
}

/** Applies `changes` when the version still matches; no row when it does not (or the workspace is not the owner's). */
export async function updateWorkspace(
  tx: TransactionSql,
  audit: Fragment,
  key: { id: string; ownerId: string; version: number },
  changes: Record<string, unknown>
): Promise<WorkspaceRow | undefined> {
  const [updated] = await tx<WorkspaceRow[]>`
    with audit_row as (${audit})
    update app.workspaces
    set ${tx(changes as never)}, version = version + 1, updated_at = now()
    where id = ${key.id}
      and owner_id = ${key.ownerId}
      and version = ${key.version}
    returning *
  `
  return updated
}

export async function deleteWorkspace(
  tx: TransactionSql,
  audit: Fragment,
  id: string,
  ownerId: string
): Promise<boolean> {
  const [deleted] = await tx`
    with audit_row as (${audit})
    delete from app.workspaces
    where id = ${id}
      and owner_id = ${ownerId}
    returning id
  `
  return Boolean(deleted)
}

/** The owner's traffic profile, with its workspace's version (`design_version`). */
export async function ownedTraffic(
  sql: Sql | TransactionSql,
  id: string,
  ownerId: string
): Promise<(TrafficRow & { design_version: number }) | undefined> {
  const [row] = await sql<(TrafficRow & { design_version: number })[]>`
    select t.*, w.version as design_version
    from app.traffic_profiles t
    join app.workspaces w on w.id = t.workspace_id
    where t.workspace_id = ${id}
      and w.owner_id = ${ownerId}
  `
  return row
}

/** The versions of the owner's workspace and of its traffic profile: what a tab polls to learn it is behind. */
export async function ownedVersions(sql: Sql | TransactionSql, id: string, ownerId: string) {
  const row = await ownedTraffic(sql, id, ownerId)
  return row && { design: row.design_version, traffic: row.version }
}

export async function updateTraffic(
  tx: TransactionSql,
  audit: Fragment,
  key: { id: string; ownerId: string; version: number },
  changes: Record<string, number | null>
): Promise<TrafficRow | undefined> {
  const [updated] = await tx<TrafficRow[]>`
    with audit_row as (${audit})
    update app.traffic_profiles t
    set ${tx(changes)}, version = t.version + 1, updated_at = now()
    from app.workspaces w
    where t.workspace_id = ${key.id}
      and w.id = t.workspace_id
      and w.owner_id = ${key.ownerId}
      and t.version = ${key.version}
    returning t.*
  `
  return updated
}

export async function trafficVersion(tx: TransactionSql, id: string): Promise<number> {
  const [current] = await tx<{ version: number }[]>`select version from app.traffic_profiles where workspace_id = ${id}`
  return current.version
}

/** A workspace's traffic profile as a run stores it (the run keeps its own copy). */
export async function trafficSnapshot(tx: Sql | TransactionSql, workspaceId: string) {
  const [t] = await tx<TrafficRow[]>`select * from app.traffic_profiles where workspace_id = ${workspaceId}`
  return {
    peakRps: t.peak_rps,
    readRatio: t.read_ratio,
    payloadKb: t.payload_kb,
    latencySloMs: t.latency_slo_ms,
    ...(t.budget_per_month === null ? {} : { budgetPerMonth: t.budget_per_month }),
    ...(t.availability_target === null ? {} : { availabilityTarget: t.availability_target }),
    ...(t.arrival_cv === 1 ? {} : { arrivalCv: t.arrival_cv })
  }
}

/** The workspace's design and traffic profile now, as a run would snapshot them (a run's staleness). */
export async function currentInputs(sql: Sql | TransactionSql, workspaceId: string) {
  const [w] = await sql<{ design: DesignDocument }[]>`select design from app.workspaces where id = ${workspaceId}`
  if (!w) return null
  return { design: w.design, traffic: (await trafficSnapshot(sql, workspaceId)) as TrafficProfile }
}
