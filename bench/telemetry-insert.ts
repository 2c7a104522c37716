// `node bench/telemetry-insert.ts [rows]`: what a request-telemetry row costs Postgres to insert,
// by the way its batch travels (a JSON array through jsonb_array_elements, as plugins/telemetry.ts
// sent it before, or a typed array per column through unnest, as it sends it now) and by the
// indexes on the table (the migrations' b-tree on created_at, or a BRIN minmax summary in its place), and how fast RUNBOOK's telemetry
// queries stay on the rows inserted. Postgres's CPU from /proc (its backends are the postmaster's
// children); each variant in turn over rounds, medians. Prints JSON.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { telemetryColumns } from '../plugins/telemetry.ts'
import { createSql, type Sql } from '../src/db/client.ts'
import { startEmbeddedPostgres } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { urlAs } from '../src/db/roles.ts'
import { uuidv7 } from '../src/ids.ts'
import { freePort } from '../test/helpers/stack.ts'
import { treeCpuUs } from './lib/cpu.ts'
import { median, round } from './lib/measure.ts'

const TOTAL = Number(process.argv[2] ?? 300_000)
const BATCH = 500
const ROUNDS = 3
const ROUTES = ['/workspaces/:id', '/workspaces/:id/preview', '/simulations/:id', '/workspaces', '/auth/login']

type Row = [number, string, string, string | null, string, number, number, string | null, string, string, string | null]

let clock = Date.now() - 5 * 60_000
function batch(): Row[] {
  const rows: Row[] = []
  for (let i = 0; i < BATCH; i++) {
    clock += 1
    const route = ROUTES[i % ROUTES.length]
    const status = i % 97 === 0 ? 500 : i % 13 === 0 ? 404 : 200
    rows.push([
      clock,
      uuidv7(),
      i % 3 === 0 ? 'PATCH' : 'GET',
      route,
      route.replace(':id', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'),
      status,
      1 + (i % 50) / 3,
      i % 5 === 0 ? null : '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      `127.0.${(i >> 8) & 255}.${i & 255}`,
      'Mozilla/5.0 (X11; Linux x86_64) bench',
      i % 2 === 0 ? crypto.randomUUID().replaceAll('-', '') : null
    ])
  }
  return rows
}

const insertJson = (sql: Sql, rows: Row[]) => sql`
  insert into app.request_telemetry
    (created_at, request_id, method, route, path, status_code, duration_ms, user_id, client_ip, user_agent, trace_id)
  select to_timestamp((r->>0)::float8 / 1000.0), r->>1, r->>2, r->>3, r->>4, (r->>5)::integer,
    (r->>6)::float8, (r->>7)::uuid, r->>8, r->>9, r->>10
  from jsonb_array_elements(${sql.json(rows as never)}) as r
`

// As plugins/telemetry.ts sends a batch since: a typed array per column, unnested.
const insertUnnest = (sql: Sql, rows: Row[]) => {
  const c = telemetryColumns(rows)
  return sql`
  insert into app.request_telemetry
    (created_at, request_id, method, route, path, status_code, duration_ms, user_id, client_ip, user_agent, trace_id)
  select to_timestamp(t / 1000.0), r, m, ro, p, s, d, u, ip, ua, tr
  from unnest(${c[0]}::float8[], ${c[1]}::text[], ${c[2]}::text[], ${c[3]}::text[], ${c[4]}::text[],
    ${c[5]}::int[], ${c[6]}::float8[], ${c[7]}::uuid[], ${c[8]}::text[], ${c[9]}::text[], ${c[10]}::text[])
    as x(t, r, m, ro, p, s, d, u, ip, ua, tr)
`
}

const INDEXES = {
  btree: 'create index request_telemetry_created_at_idx on app.request_telemetry (created_at)',
  brin: `create index request_telemetry_created_at_idx on app.request_telemetry using brin (created_at)
    with (pages_per_range = 32, autosummarize = on)`
}

/** Whichever index on created_at the migrations left (a b-tree before 0033, a BRIN summary since). */
async function dropCreatedAtIndexes(sql: Sql) {
  await sql.unsafe('drop index if exists app.request_telemetry_created_at_idx')
  await sql.unsafe('drop index if exists app.request_telemetry_created_brin')
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'sdc-telemetry-'))
  const dataDir = join(dir, 'data')
  const pg = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'tele' })
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  const sql = createSql(urlAs(pg.url, 'postgres'), { max: 1, applicationName: 'sdc-telemetry-bench' })
  try {
    const owner = createSql(pg.ownerUrl, { max: 1 })
    await migrate(owner).finally(() => owner.end())
    await sql`select app.ensure_telemetry_partitions(current_date - 1, 3)`
    const out: Record<string, unknown> = { rowsPerVariant: TOTAL, batch: BATCH, rounds: ROUNDS }
    const perRow: Record<string, number[]> = {}
    // What sending the batch costs the process that sends it (the api, in production).
    const clientPerRow: Record<string, number[]> = {}
    const variants = [
      ['json, b-tree on created_at', insertJson, 'btree'],
      ['unnest, b-tree on created_at', insertUnnest, 'btree'],
      ['json, BRIN on created_at', insertJson, 'brin'],
      ['unnest, BRIN on created_at', insertUnnest, 'brin']
    ] as const
    const batches = Math.max(1, Math.round(TOTAL / BATCH / ROUNDS))
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, insert, index] of r % 2 === 0 ? variants : [...variants].reverse()) {
        await sql`truncate app.request_telemetry`
        await dropCreatedAtIndexes(sql)
        await sql.unsafe(INDEXES[index])
        await sql`checkpoint`
        const made = Array.from({ length: batches }, batch)
        const cpu0 = treeCpuUs(postmaster)
        const own0 = process.cpuUsage()
        for (const rows of made) await insert(sql, rows)
        const us = treeCpuUs(postmaster) - cpu0
        const own = process.cpuUsage(own0)
        const list = perRow[name] ?? []
        perRow[name] = list
        list.push(us / (batches * BATCH))
        const client = clientPerRow[name] ?? []
        clientPerRow[name] = client
        client.push((own.user + own.system) / (batches * BATCH))
      }
    }
    out.insertUsPerRow = Object.fromEntries(Object.entries(perRow).map(([k, v]) => [k, round(median(v), 2)]))
    out.senderUsPerRow = Object.fromEntries(Object.entries(clientPerRow).map(([k, v]) => [k, round(median(v), 2)]))
    // RUNBOOK's queries over the rows of one variant left in the table, with each created_at index.
    const queries = {
      correlation: (id: string) =>
        sql`select created_at, method, route from app.request_telemetry where request_id = ${id} or trace_id = ${id}`,
      apiErrors: async () =>
        sql.unsafe(await readFile(new URL('../sql/health/api_errors.sql', import.meta.url), 'utf8')),
      slowRoutes: async () =>
        sql.unsafe(await readFile(new URL('../sql/health/slow_routes.sql', import.meta.url), 'utf8')),
      slo: async () => sql.unsafe(await readFile(new URL('../sql/health/slo.sql', import.meta.url), 'utf8')),
      summaryLastHour: () => sql`
        select method, route, count(*)::int, percentile_cont(0.95) within group (order by duration_ms)
        from app.request_telemetry where created_at >= now() - interval '1 hour' group by method, route`
    }
    const timings: Record<string, Record<string, number>> = {}
    for (const index of ['btree', 'brin'] as const) {
      await sql`truncate app.request_telemetry`
      await dropCreatedAtIndexes(sql)
      await sql.unsafe(INDEXES[index])
      clock = Date.now() - 60 * 60_000
      const step = Math.max(1, Math.floor((60 * 60_000) / (TOTAL / 1)))
      let some = ''
      for (let b = 0; b < TOTAL / BATCH; b++) {
        const rows = batch()
        for (const [i, row] of rows.entries()) row[0] = Date.now() - 60 * 60_000 + (b * BATCH + i) * step
        if (b === Math.floor(TOTAL / BATCH / 2)) some = rows[7][1]
        await insertJson(sql, rows)
      }
      await sql`vacuum analyze app.request_telemetry`
      const time = async (q: () => Promise<unknown>) => {
        const ms: number[] = []
        for (let i = 0; i < 7; i++) {
          const t0 = performance.now()
          await q()
          ms.push(performance.now() - t0)
        }
        return round(median(ms), 2)
      }
      timings[index] = {
        correlationMs: await time(() => queries.correlation(some)),
        apiErrorsMs: await time(queries.apiErrors),
        slowRoutesMs: await time(queries.slowRoutes),
        sloMs: await time(queries.slo),
        summaryLastHourMs: await time(queries.summaryLastHour)
      }
    }
    out.queryMs = timings
    const [size] = await sql`
      select pg_size_pretty(sum(pg_relation_size(indexrelid))) as created_at_index
      from pg_index where indexrelid::regclass::text like 'app.request_telemetry%created_at%'`
    out.brinCreatedAtIndexSize = size.created_at_index
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
  } finally {
    await sql.end()
    await pg.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
