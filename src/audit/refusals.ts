// Refusals counted instead of written (app.audit_refusals): a flood of refused requests costs a
// statement a second and a row per client a minute, never an audit row each.
import { isIP } from 'node:net'
import { clientKey } from '../client-address.ts'
import type { Sql } from '../db/client.ts'

/** Audit rows a client's refusals on public routes (failed logins above all) may write a minute, per api. */
export const REFUSAL_ROWS_PER_CLIENT_MINUTE = 10
/** And every client's together, per api: a flood from many addresses is counted, not written, too. */
export const REFUSAL_ROWS_PER_MINUTE = 600
/** Distinct (minute, client, route, status) counts held between flushes; past it a refusal is only in the metric. */
const MAX_PENDING_COUNTS = 10_000
/** The client as app.audit_refusals stores it: an IPv4 address or an IPv6 /64 (an unparsable address as 0.0.0.0). */
export function refusalClient(ip: string | undefined): string {
  const key = clientKey(ip ?? '')
  return isIP(key.endsWith('/64') ? key.slice(0, -3) : key) ? key : '0.0.0.0'
}

type PendingCount = [minuteMs: number, client: string, route: string, status: number, count: number]

/**
 * Refusals counted per minute, client, route and status, written with one upsert a second (and at
 * close): a flood of refused requests costs a statement a second and a row per client a minute,
 * never a row each. A failed upsert loses its counts (logged); `totals` (the metric) keeps them.
 */
export class RefusalCounts {
  private pending = new Map<string, PendingCount>()
  private readonly byRouteStatus = new Map<string, { route: string; status: number; count: number }>()
  private flushing: Promise<void> | null = null
  private lastDropLog = 0
  dropped = 0
  private readonly sql: Sql
  private readonly log: (msg: string, err: Error) => void

  constructor(sql: Sql, log: (msg: string, err: Error) => void) {
    this.sql = sql
    this.log = log
  }

  count(minuteMs: number, client: string, route: string, status: number): void {
    const series = `${status} ${route}`
    const total = this.byRouteStatus.get(series)
    if (total) total.count++
    else this.byRouteStatus.set(series, { route, status, count: 1 })
    const key = `${minuteMs}|${client}|${series}`
    const entry = this.pending.get(key)
    if (entry) entry[4]++
    else if (this.pending.size < MAX_PENDING_COUNTS) this.pending.set(key, [minuteMs, client, route, status, 1])
    else this.dropped++
  }

  /** Every refusal counted since start, by route pattern and status (bounded: the route table's patterns). */
  totals(): Iterable<{ route: string; status: number; count: number }> {
    return this.byRouteStatus.values()
  }

  /** Writes what is pending; concurrent callers share the flush in progress. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.pending.size === 0) return
    const batch = [...this.pending.values()]
    this.pending = new Map()
    this.flushing = this.upsert(batch).finally(() => {
      this.flushing = null
    })
    await this.flushing
  }

  private async upsert(batch: PendingCount[]): Promise<void> {
    try {
      // In key order, so two apis adding to the same rows lock them in the same order.
      await this.sql`
        insert into app.audit_refusals as r (minute, ip, route, status, count)
        select to_timestamp((e->>0)::float8 / 1000), (e->>1)::inet, e->>2, (e->>3)::integer, sum((e->>4)::integer)
        from jsonb_array_elements(${this.sql.json(batch as never)}) as e
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
        on conflict (minute, ip, route, status) do update
        set count = r.count + excluded.count
      `
    } catch (err) {
      this.dropped += batch.reduce((n, entry) => n + entry[4], 0)
      // One line per 10 s at most: a database outage must not flood the logs.
      if (Date.now() - this.lastDropLog > 10_000) {
        this.lastDropLog = Date.now()
        this.log(`audit refusal counts not written: ${this.dropped} refusal(s) lost in total`, err as Error)
      }
    }
  }
}

/** How long refusal counts are kept. */
export const AUDIT_REFUSALS_RETENTION_DAYS = 90

/** Deletes refusal counts past their retention (the maintenance job); returns how many rows. */
export async function deleteExpiredRefusals(sql: Sql): Promise<number> {
  const expired = await sql`
    delete from app.audit_refusals
    where minute < now() - make_interval(days => ${AUDIT_REFUSALS_RETENTION_DAYS})
  `
  return expired.count
}
