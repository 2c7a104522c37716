// The audit log's hash chain: rows are written unsealed, the sealer links them in order, anchors
// (HMAC under a key kept outside the database) pin its head, and the verifier recomputes it.
import { createHmac } from 'node:crypto'
import type { Sql, TransactionSql } from '../db/client.ts'

export type ChainVerdict =
  | { ok: true; rows: number; anchors: number; lastId: string | null; lastHash: string | null }
  | { ok: false; rows: number; brokenId: string; reason: string }

/** The HMAC of a chain position and its hash under the key kept outside the database. */
export const anchorMac = (key: string, seq: string, hash: string) =>
  createHmac('sha256', key).update(`${seq}|${hash}`).digest('hex')

/** Seconds between anchors while the chain grows: what a silent rewrite of the newest rows can hide in. */
export const ANCHOR_INTERVAL_SECONDS = 10

/** Anchors the chain's head when it moved past the last anchor and that anchor is old enough; returns whether it did. */
export async function anchorAuditChain(
  sql: Sql,
  key: string,
  minAgeSeconds = ANCHOR_INTERVAL_SECONDS
): Promise<boolean> {
  const [head] = await sql<{ seq: string; hash: string; due: boolean }[]>`
    select h.chain_seq::text as seq, h.hash,
           coalesce((select a.chain_seq < h.chain_seq and a.created_at < now() - make_interval(secs => ${minAgeSeconds})
                     from app.audit_anchors a order by a.chain_seq desc limit 1), true) as due
    from app.audit_log h
    where h.chain_seq is not null
    order by h.chain_seq desc
    limit 1
  `
  if (!head?.due) return false
  const rows = await sql`
    insert into app.audit_anchors (chain_seq, hash, mac)
    values (${head.seq}::bigint, ${head.hash}, ${anchorMac(key, head.seq, head.hash)})
    on conflict (chain_seq) do nothing
    returning chain_seq
  `
  return rows.length > 0
}

const GENESIS = '0'.repeat(64)

/** Links every unsealed row into the chain (the sealer also runs every second in each api). */
export async function sealAuditLog(sql: Sql | TransactionSql, batch = 5000): Promise<number> {
  let total = 0
  for (;;) {
    const [{ sealed }] = await sql<{ sealed: number }[]>`select app.seal_audit_log(${batch}) as sealed`
    total += sealed
    if (sealed < batch) return total
  }
}

/**
 * Seals what is pending, then recomputes the chain in order and checks it against its anchors
 * (their HMAC too, given the key); stops at the first row or anchor that does not fit.
 */
export async function verifyAuditChain(sql: Sql, { hmacKey }: { hmacKey?: string } = {}): Promise<ChainVerdict> {
  await sealAuditLog(sql)
  let rows = 0
  let anchors = 0
  let lastSeq = '0'
  let previous: { id: string; hash: string } | null = null
  // Anchors come in the same statement: the cursor holds its connection (the CLI has only one).
  const cursor = sql<
    {
      id: string
      seq: string
      prev_hash: string
      hash: string
      recomputed: string
      anchor_hash: string | null
      anchor_mac: string | null
    }[]
  >`
    select a.id::text as id, a.chain_seq::text as seq, a.prev_hash, a.hash, app.audit_hash(a.prev_hash, a) as recomputed,
           n.hash as anchor_hash, n.mac as anchor_mac
    from app.audit_log a
    left join app.audit_anchors n on n.chain_seq = a.chain_seq
    where a.chain_seq is not null
    order by a.chain_seq
  `.cursor(1000)
  for await (const batch of cursor) {
    for (const row of batch) {
      const anchor = row.anchor_hash === null ? null : { hash: row.anchor_hash, mac: row.anchor_mac as string }
      if (anchor) {
        if (hmacKey && anchor.mac !== anchorMac(hmacKey, row.seq, anchor.hash)) {
          return {
            ok: false,
            rows,
            brokenId: row.id,
            reason: 'its anchor’s HMAC does not verify: anchors were forged, or AUDIT_HMAC_KEY is wrong'
          }
        }
        if (anchor.hash !== row.hash) {
          return {
            ok: false,
            rows,
            brokenId: row.id,
            reason: 'its hash differs from its anchor: the chain was recomputed after a change'
          }
        }
        anchors++
      }
      const expectedPrev = previous?.hash ?? GENESIS
      if (row.prev_hash !== expectedPrev) {
        return {
          ok: false,
          rows,
          brokenId: row.id,
          reason: previous
            ? `prev_hash does not match the hash of row ${previous.id}: a row between them was deleted or altered`
            : 'the first row does not start the chain: earlier rows were deleted'
        }
      }
      if (row.recomputed !== row.hash) {
        return { ok: false, rows, brokenId: row.id, reason: 'its content does not match its hash: the row was edited' }
      }
      previous = { id: row.id, hash: row.hash }
      lastSeq = row.seq
      rows++
    }
  }
  const [beyond] = await sql<{ seq: string }[]>`
    select chain_seq::text as seq
    from app.audit_anchors
    where chain_seq > ${lastSeq}::bigint
    order by chain_seq desc
    limit 1
  `
  if (beyond) {
    return {
      ok: false,
      rows,
      brokenId: previous?.id ?? '0',
      reason: `an anchor stands at chain position ${beyond.seq}, past the last row: the newest rows were deleted`
    }
  }
  return { ok: true, rows, anchors, lastId: previous?.id ?? null, lastHash: previous?.hash ?? null }
}
