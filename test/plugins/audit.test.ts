import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { anchorAuditChain, sealAuditLog, verifyAuditChain } from '../../src/audit/chain.ts'
import { deleteExpiredRefusals, REFUSAL_ROWS_PER_CLIENT_MINUTE, RefusalCounts } from '../../src/audit/refusals.ts'
import { CHANGES_MAX_BYTES, scrub } from '../../src/audit/scrub.ts'
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrate.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { fork } from '../helpers/process.ts'
import { bearer, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('audit log', async (t) => {
  const { url } = await createTestDatabase(t)
  // The checks play someone with every power (triggers off, constraints added); the app has its own role.
  const sql = testSql(t, superuserUrl(url))
  const { app, logs } = await buildTestApp(t, url, ENV)

  t.test('a failing audit insert rolls the mutation back', async (t) => {
    await sql`alter table app.audit_log add constraint refuse_register check (action <> 'auth.register') not valid`
    t.teardown(() => sql`alter table app.audit_log drop constraint refuse_register`)
    const email = uniqueEmail()
    const res = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, displayName: 'X' }
    })
    t.equal(res.statusCode, 500)
    t.equal(res.json().message, 'An internal error occurred')
    const users = await sql`select 1 from app.users where email = ${email}`
    t.equal(users.length, 0, 'no user without its audit row')
  })

  t.test('a route whose audit row leads its own statement commits both or neither', async (t) => {
    const auth = bearer(await registerAndLogin(app))
    const create = (name: string) =>
      app.inject({ method: 'POST', url: '/workspaces', headers: auth, payload: { name, design: SAMPLE_DESIGN } })
    const created = await create('Kept')
    t.equal(created.statusCode, 201)
    const id = created.json().id
    t.same(
      await sql`select action, outcome, resource_id from app.audit_log where request_id = ${created.headers['x-request-id'] as string}`,
      [{ action: 'workspace.create', outcome: 'success', resource_id: id }],
      'the workspace and its audit row'
    )

    await sql`alter table app.audit_log add constraint refuse_writes check (action not in ('workspace.create', 'workspace.update')) not valid`
    t.teardown(() => sql`alter table app.audit_log drop constraint refuse_writes`)
    t.equal((await create('Refused')).statusCode, 500)
    t.same(await sql`select 1 from app.workspaces where name = 'Refused'`, [], 'no workspace without its audit row')
    const patched = await app.inject({
      method: 'PATCH',
      url: `/workspaces/${id}`,
      headers: auth,
      payload: { version: 1, name: 'Renamed' }
    })
    t.equal(patched.statusCode, 500)
    const [row] = await sql`select name, version from app.workspaces where id = ${id}`
    t.same(row, { name: 'Kept', version: 1 }, 'no change without its audit row')
  })

  t.test('UPDATE, DELETE and TRUNCATE are refused for everyone', async (t) => {
    await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: uniqueEmail(), password: PASSWORD, displayName: 'Y' }
    })
    await t.rejects(sql`update app.audit_log set action = 'x'`, { message: /append-only: UPDATE/ })
    await t.rejects(sql`delete from app.audit_log`, { message: /append-only: DELETE/ })
    await t.rejects(sql`truncate app.audit_log`, { message: /append-only: TRUNCATE/ })
    // The one UPDATE allowed is a seal that leaves the content as it is.
    const [row] = await sql`
      insert into app.audit_log ${sql({ action: 'test.guard', outcome: 'success', changes: sql.json({ n: 1 }) })}
      returning id
    `
    const sealAs = (changes: string) => sql`
      update app.audit_log
      set chain_seq = 1000000000 + id, prev_hash = repeat('0', 64), hash = repeat('e', 64), changes = ${changes}::jsonb
      where id = ${row.id}
    `
    await t.rejects(sealAs('{"n": 2}'), { message: /append-only: UPDATE/ }, 'a seal that edits the content')
    await t.rejects(
      sealAs('{"n": 1.0}'),
      { message: /append-only: UPDATE/ },
      'even to an equal jsonb with another text'
    )
    await sealAuditLog(sql)
    await t.rejects(
      sql`update app.audit_log set hash = repeat('f', 64)`,
      { message: /append-only: UPDATE/ },
      'a sealed row cannot be resealed'
    )
  })

  t.test('rows are linked into the chain by the sealer, one sealer at a time', async (t) => {
    await sql`insert into app.audit_log ${sql({ action: 'test.seal', outcome: 'success' })}`
    const [before] = await sql`select hash, chain_seq from app.audit_log where action = 'test.seal'`
    t.equal(before.hash, null, 'written unsealed: writers never wait for each other')
    const sealed = await waitFor(
      async () => {
        const [row] = await sql`select hash, chain_seq from app.audit_log where action = 'test.seal'`
        return row.hash ? row : null
      },
      { what: "the app's sealer to link the row" }
    )
    t.match(sealed, { hash: /^[0-9a-f]{64}$/ })
    // While one transaction holds the sealer's lock, another sealer backs off at once.
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7346201002)`
      await sql`insert into app.audit_log ${sql({ action: 'test.seal2', outcome: 'success' })}`
      t.equal((await sql`select app.seal_audit_log(100) as n`)[0].n, 0, 'a second sealer backs off')
    })
  })

  t.test('sixteen concurrent writers never fork the chain', async (t) => {
    const writer = async (w: number) => {
      for (let i = 0; i < 500; i++) {
        await sql`insert into app.audit_log ${sql({ action: 'test.concurrent', resource_type: 'test', resource_id: `${w}-${i}`, outcome: 'success' })}`
      }
    }
    await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)))
    const [{ n }] = await sql`select count(*)::int as n from app.audit_log where action = 'test.concurrent'`
    t.equal(n, 8000)
    // The app's sealer (every second) or this call seals them; whichever holds the lock.
    await waitFor(
      async () => {
        await sealAuditLog(sql)
        const [{ open }] = await sql`select count(*)::int as open from app.audit_log where chain_seq is null`
        return open === 0
      },
      { what: 'every row sealed' }
    )
    const verify = fork('src/cli.ts', { DATABASE_URL: url }, ['audit:verify'])
    t.equal(await verify.exited, 0, verify.stderr.join(''))
    t.match(verify.stdout.join('\n'), /audit chain verified: (8\d{3}) rows/)
  })

  t.test('an edited middle row is detected', async (t) => {
    await sealAuditLog(sql)
    const ids = (await sql`select id from app.audit_log order by id`).map((r) => String(r.id))
    const middle = ids[Math.floor(ids.length / 2)]
    // Tampering needs the triggers off, as only a superuser can do.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`
      await tx`update app.audit_log set changes = '{"forged": true}' where id = ${middle}`
    })
    t.match(await verifyAuditChain(sql), { ok: false, brokenId: middle, reason: /edited/ })
    const cli = fork('src/cli.ts', { DATABASE_URL: url }, ['audit:verify'])
    t.equal(await cli.exited, 1)
    t.match(cli.stderr.join(''), new RegExp(`BROKEN at row ${middle}: its content does not match its hash`))
  })

  t.test('anchors under AUDIT_HMAC_KEY catch a recomputed chain, a forged anchor and a cut tail', async (t) => {
    const key = 'audit-hmac-key-kept-outside-the-database-0123'
    const { url: freshUrl } = await createTestDatabase(t)
    const fresh = testSql(t, superuserUrl(freshUrl))
    const write = async (n: number) => {
      for (let i = 0; i < n; i++)
        await fresh`insert into app.audit_log ${fresh({ action: 'test.anchor', outcome: 'success' })}`
      await sealAuditLog(fresh)
    }
    await write(10)
    t.equal(await anchorAuditChain(fresh, key), true, 'the head is anchored')
    t.equal(await anchorAuditChain(fresh, key), false, 'and not again until the chain moves')
    await write(10)
    t.equal(await anchorAuditChain(fresh, key, 0), true, 'a later head gets its own anchor')
    t.match(await verifyAuditChain(fresh, { hmacKey: key }), { ok: true, rows: 20, anchors: 2 })

    // A superuser edits row 5 and recomputes every hash from it on: the chain alone is valid again.
    const rewrite = async () => {
      await fresh.begin(async (tx) => {
        await tx`set local session_replication_role = replica`
        await tx`update app.audit_log set changes = '{"forged": true}' where chain_seq = 5`
        await tx`update app.audit_log set chain_seq = null, prev_hash = null, hash = null where chain_seq >= 5`
      })
      await sealAuditLog(fresh)
    }
    await rewrite()
    const recomputed = await verifyAuditChain(fresh, { hmacKey: key })
    t.match(recomputed, { ok: false, rows: 9, reason: /differs from its anchor: the chain was recomputed/ })
    await fresh.begin(async (tx) => {
      await tx`set local session_replication_role = replica`
      await tx`delete from app.audit_anchors`
    })
    t.match(await verifyAuditChain(fresh), { ok: true, rows: 20 }, 'without anchors the rewrite would pass')

    // Anchors written without the key do not verify.
    await fresh`insert into app.audit_anchors (chain_seq, hash, mac) select chain_seq, hash, 'forged' from app.audit_log where chain_seq = 20`
    t.match(await verifyAuditChain(fresh, { hmacKey: key }), { ok: false, reason: /HMAC does not verify/ })

    // The newest rows deleted (a cut tail) leave an anchor past the end.
    const { url: tailUrl } = await createTestDatabase(t)
    const tail = testSql(t, superuserUrl(tailUrl))
    for (let i = 0; i < 5; i++)
      await tail`insert into app.audit_log ${tail({ action: 'test.tail', outcome: 'success' })}`
    await sealAuditLog(tail)
    await anchorAuditChain(tail, key)
    await tail.begin(async (tx) => {
      await tx`set local session_replication_role = replica`
      await tx`delete from app.audit_log where chain_seq >= 4`
    })
    t.match(await verifyAuditChain(tail, { hmacKey: key }), {
      ok: false,
      rows: 3,
      reason: /anchor stands at chain position 5, past the last row/
    })
    await t.rejects(tail`update app.audit_anchors set mac = 'x'`, { message: /append-only/ }, 'anchors are append-only')
  })

  t.test('a deleted middle row is detected', async (t) => {
    const { url: freshUrl } = await createTestDatabase(t)
    const fresh = testSql(t, superuserUrl(freshUrl))
    for (let i = 0; i < 20; i++)
      await fresh`insert into app.audit_log ${fresh({ action: 'test.row', outcome: 'success' })}`
    t.equal(await sealAuditLog(fresh), 20, 'the sealer links the new rows')
    const ids = (await fresh`select id from app.audit_log order by id`).map((r) => String(r.id))
    await fresh.begin(async (tx) => {
      await tx`set local session_replication_role = replica`
      await tx`delete from app.audit_log where id = ${ids[10]}`
    })
    const verdict = await verifyAuditChain(fresh)
    t.match(verdict, { ok: false, brokenId: ids[11], rows: 10, reason: /deleted or altered/ })
  })

  t.test('redaction canaries never appear in logs, audit rows or telemetry', async (t) => {
    const canary = {
      password: 'CANARY-pw-7f3a9c-long-enough',
      token: 'CANARYtok7f3a9cCANARYtok7f3a9cCANARYtok',
      auth: 'CANARY-bearer-7f3a9c',
      cookie: 'CANARY-cookie-7f3a9c'
    }
    const email = uniqueEmail()
    const headers = { authorization: `Bearer ${canary.auth}`, cookie: `session=${canary.cookie}` }
    await app.inject({
      method: 'POST',
      url: '/auth/register',
      headers,
      payload: { email, password: canary.password, displayName: 'C' }
    })
    await app.inject({ method: 'POST', url: '/auth/login', headers, payload: { email, password: canary.password } })
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers,
      payload: { email, password: `${canary.password}-wrong` }
    })
    await app.inject({ method: 'POST', url: '/auth/refresh', headers, payload: { refreshToken: canary.token } })
    await app.inject({ method: 'POST', url: '/auth/logout', headers, payload: { refreshToken: canary.token } })
    await app.inject({ url: '/auth/me', headers })
    await app.telemetry.flush()
    await waitFor(
      async () => (await sql`select count(*)::int as n from app.audit_log where action = 'auth.logout'`)[0].n > 0
    )
    const markers = Object.values(canary).map((v) => v.slice(0, 20))
    const haystacks = {
      logs: logs.raw.join('\n'),
      audit: JSON.stringify(await sql`select * from app.audit_log`),
      telemetry: JSON.stringify(await sql`select * from app.request_telemetry`)
    }
    for (const [where, text] of Object.entries(haystacks)) {
      for (const marker of markers) t.notOk(text.includes(marker), `${marker} is not in the ${where}`)
    }
    t.ok(haystacks.audit.includes('[redacted]'), 'the audit rows kept the bodies, secrets replaced')
  })
})

t.test(
  'a chain sealed before the batch sealer and the insert defaults still verifies after them (and after the lean indexes)',
  async (t) => {
    const { ownerUrl } = await createTestDatabase(t, { migrated: false })
    const sql = testSql(t, ownerUrl)
    // The schema as it was before 0010: the row trigger assigned ids, the sealer went row by row.
    const before = await mkdtemp(join(tmpdir(), 'sdc-migrations-'))
    t.teardown(() => rm(before, { recursive: true, force: true }))
    for (const name of (await readdir(MIGRATIONS_DIR)).filter((n) => n < '0010')) {
      await copyFile(join(MIGRATIONS_DIR, name), join(before, name))
    }
    await migrate(sql, { dir: before })
    const write = (action: string) => sql`insert into app.audit_log ${sql({ action, outcome: 'success' })}`
    for (let i = 0; i < 5; i++) await write('test.old.sealed')
    t.equal((await sql`select app.seal_audit_log(100) as n`)[0].n, 5, 'sealed by the old function')
    for (let i = 0; i < 3; i++) await write('test.old.unsealed')

    const { applied } = await migrate(sql)
    // Every later migration too: 0014's sealer (another owner and search path) links the same chain.
    t.same(applied.slice(0, 3), [
      '0010_audit_seal_batch.sql',
      '0011_audit_insert_defaults.sql',
      '0012_audit_lean_sealing.sql'
    ])
    t.ok(applied.includes('0014_definer_role.sql'))
    for (let i = 0; i < 4; i++) await write('test.new')
    const [ids] = await sql`
    select max(id) filter (where action like 'test.old.%') as old, min(id) filter (where action = 'test.new') as new
    from app.audit_log
  `
    t.ok(BigInt(ids.new) > BigInt(ids.old), 'ids continue from the same sequence')
    t.equal(await sealAuditLog(sql), 7, 'the batch sealer links the old unsealed rows and the new ones')
    t.match(await verifyAuditChain(sql), { ok: true, rows: 12 })
  }
)

/** A JSON object of `count` keys, each value made by `value`. */
const wideBody = (count: number, value: (i: number) => unknown) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${String(i).padStart(5, '0')}`, value(i)]))

/** The body as a Proxy that counts the values read from it (for…in and Object.hasOwn read none). */
function watched<T extends object>(body: T): { body: T; reads: () => number } {
  let reads = 0
  const proxy = new Proxy(body, {
    get(target, key, receiver) {
      reads++
      return Reflect.get(target, key, receiver)
    }
  })
  return { body: proxy, reads: () => reads }
}

t.test('scrub keeps 50 keys of a 20 000-key body and reads no other value', async (t) => {
  const { body, reads } = watched(wideBody(20_000, (i) => i))
  const kept = scrub(body) as Record<string, unknown>
  t.equal(Object.keys(kept).length, 51, 'fifty keys and the marker')
  t.equal(kept['[truncated]'], true)
  t.equal(kept.k00049, 49)
  t.notOk('k00050' in kept)
  t.ok(reads() <= 50, `${reads()} values read`)
})

t.test('scrub stores a summary for a body past the byte cap, without walking the rest', async (t) => {
  const { body, reads } = watched(wideBody(20_000, () => 'x'.repeat(200)))
  t.same(scrub(body, 4_200_000), {
    '[truncated]': true,
    bytes: 4_200_000,
    keys: ['k00000', 'k00001', 'k00002', 'k00003', 'k00004', 'k00005', 'k00006', 'k00007', 'k00008', 'k00009']
  })
  t.ok(reads() <= 25, `${reads()} values read before the cap was reached`)
  t.same(scrub(['y'.repeat(1500), 'y'.repeat(1500), 'y'.repeat(1500)]), { '[truncated]': true, bytes: null, items: 3 })
  t.same(scrub({ password: 'p', nested: { token: 't', n: 1 } }), {
    password: '[redacted]',
    nested: { token: '[redacted]', n: 1 }
  })
  t.same(scrub('a\u0000b'), 'a\uFFFDb', 'what jsonb cannot hold is replaced')
})

t.test('refusals that never reached a handler are counted per client and minute, not written', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const secret = 'audit-refusals-metrics-secret'
  const { app } = await buildTestApp(t, url, {
    RATE_LIMIT_MAX_REQUESTS: '300',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '40',
    METRICS_ENABLED: 'true',
    METRICS_GUARD: 'secret',
    METRICS_GUARD_SECRET: secret
  })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const wide = JSON.stringify(wideBody(20_000, (i) => `value-${i}`))
  const json = { 'content-type': 'application/json' }
  // One anonymous client over 50 connections: 401s then 429s on a user route, schema 400s (a
  // 20 000-key body) then 429s on a public one, 404s on unknown URLs.
  const requests: { route: string; path: string; init: RequestInit }[] = [
    ...Array.from({ length: 400 }, () => ({
      route: '/workspaces',
      path: '/workspaces',
      init: { method: 'POST', headers: json, body: '{"name":"x"}' }
    })),
    ...Array.from({ length: 60 }, () => ({
      route: '/auth/register',
      path: '/auth/register',
      init: { method: 'POST', headers: json, body: wide }
    })),
    ...Array.from({ length: 50 }, (_, i) => ({ route: '__unmatched__', path: `/nowhere/${i}`, init: {} }))
  ]
  const sent = new Map<string, number>()
  const send = async (batch: typeof requests) => {
    let next = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < batch.length) {
          const { route, path, init } = batch[next++]
          const res = await fetch(`${base}${path}`, init)
          await res.arrayBuffer()
          const key = `${route} ${res.status}`
          sent.set(key, (sent.get(key) ?? 0) + 1)
        }
      })
    )
  }
  // Unknown URLs first: they share the client's budget with the rest.
  await send(requests.filter((r) => r.route === '__unmatched__'))
  await send(requests.filter((r) => r.route !== '__unmatched__'))
  t.same(
    [...sent.keys()].sort(),
    ['/auth/register 400', '/auth/register 429', '/workspaces 401', '/workspaces 429', '__unmatched__ 404'],
    'the flood met every kind of early refusal'
  )

  const counted = async () => {
    const rows = await sql<{ route: string; status: number; n: number }[]>`
      select route, status, sum(count)::int as n
      from app.audit_refusals
      where ip = '127.0.0.1'
      group by route, status
    `
    return new Map(rows.map((r) => [`${r.route} ${r.status}`, r.n]))
  }
  const aggregated = await waitFor(
    async () => {
      const now = await counted()
      return [...sent].every(([key, n]) => now.get(key) === n) ? now : null
    },
    { what: 'every refusal counted in app.audit_refusals' }
  )
  t.same(Object.fromEntries(aggregated), Object.fromEntries(sent), 'each refusal counted once')
  const [{ rows }] = await sql`select count(*)::int as rows from app.audit_refusals`
  t.ok(rows <= 2 * sent.size, `${rows} rows for ${requests.length} refusals: one per route, status and minute`)
  const [{ audit }] = await sql`select count(*)::int as audit from app.audit_log`
  t.equal(audit, 0, 'not one audit row for the flood')

  const scrape = await app.inject({ url: '/metrics', headers: { 'x-metrics-secret': secret } })
  for (const [key, n] of sent) {
    const [route, status] = key.split(' ')
    t.match(scrape.body, `sdc_audit_refusals_total{route="${route}",status="${status}"} ${n}\n`, `metric ${key}`)
  }

  // Counts still in memory are written when the api closes (these are 429s by now: the flood spent the budget).
  for (let i = 0; i < 3; i++) await app.inject({ url: `/nowhere/late-${i}` })
  await app.close()
  const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0)
  t.equal(total(await counted()), requests.length + 3, 'flushed at close')
})

t.test(
  'failed logins write at most the budget of audit rows per client and minute; the rest are counted',
  async (t) => {
    const { url } = await createTestDatabase(t)
    const sql = testSql(t, url)
    let now = new Date()
    const { app } = await buildTestApp(t, url, ENV, undefined, { clock: () => now })
    const email = uniqueEmail()
    await registerAndLogin(app, email)
    const fail = (remoteAddress: string) =>
      app.inject({ method: 'POST', url: '/auth/login', remoteAddress, payload: { email, password: 'wrong password' } })
    const flood = '198.51.100.7'
    const statuses = new Set<number>()
    for (let i = 0; i < 40; i++) statuses.add((await fail(flood)).statusCode)
    t.same([...statuses].sort(), [401, 423], 'wrong passwords, then the client’s lockout')
    for (let i = 0; i < 3; i++) await fail('198.51.100.8')

    const refusals = (ip: string) =>
      sql`select coalesce(sum(count), 0)::int as n from app.audit_refusals where ip = ${ip}::inet and route = '/auth/login'`
    const rows = (ip: string) =>
      sql`select count(*)::int as n from app.audit_log where action = 'auth.login' and ip_address = ${ip}`
    await waitFor(async () => (await refusals(flood))[0].n === 40 - REFUSAL_ROWS_PER_CLIENT_MINUTE, {
      what: 'the failures past the budget counted'
    })
    t.equal((await rows(flood))[0].n, REFUSAL_ROWS_PER_CLIENT_MINUTE, 'the budget of rows, no more')
    t.equal((await rows('198.51.100.8'))[0].n, 3, 'another client has its own budget')
    t.equal((await refusals('198.51.100.8'))[0].n, 0)
    const [lockout] = await sql`select count(*)::int as n from app.audit_log where action = 'auth.lockout'`
    t.equal(lockout.n, 1, 'the lockout is its own security event, written')

    now = new Date(now.getTime() + 60_000)
    for (let i = 0; i < 3; i++) await fail(flood)
    await waitFor(async () => (await rows(flood))[0].n === REFUSAL_ROWS_PER_CLIENT_MINUTE + 3, {
      what: 'the next minute’s rows'
    })
    await app.auditRefusals.flush()
    t.equal((await refusals(flood))[0].n, 40 - REFUSAL_ROWS_PER_CLIENT_MINUTE, 'a new minute, a new budget')
  }
)

t.test('an audit row keeps at most CHANGES_MAX_BYTES of any body', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, ENV)
  const auth = bearer(await registerAndLogin(app))
  // A refusal its handler gave (an unknown workspace): written, with the body it came with.
  const refuse = async (id: string, body: unknown) => {
    const payload = JSON.stringify(body)
    const res = await app.inject({
      method: 'DELETE',
      url: '/workspaces/00000000-0000-4000-8000-000000000000',
      headers: { ...auth, 'content-type': 'application/json', 'x-request-id': id },
      payload
    })
    t.equal(res.statusCode, 404)
    const [row] = await waitFor(
      () =>
        sql<{ changes: Record<string, unknown>; bytes: number }[]>`
          select changes, octet_length(changes::text) as bytes from app.audit_log where request_id = ${id}
        `.then((r) => (r.length ? r : null)),
      { what: `the audit row of ${id}` }
    )
    t.ok(row.bytes <= CHANGES_MAX_BYTES, `${id}: ${row.bytes} bytes stored of ${payload.length}`)
    return { changes: row.changes, sent: Buffer.byteLength(payload) }
  }

  const small = await refuse(
    'wide-small',
    wideBody(20_000, (i) => i)
  )
  t.equal(Object.keys(small.changes).length, 51, 'fifty keys and the marker')
  t.equal(small.changes['[truncated]'], true)
  const big = await refuse(
    'wide-big',
    wideBody(5_000, (i) => `value-${i}-${'x'.repeat(120)}`)
  )
  t.same(big.changes, {
    '[truncated]': true,
    bytes: big.sent,
    keys: ['k00000', 'k00001', 'k00002', 'k00003', 'k00004', 'k00005', 'k00006', 'k00007', 'k00008', 'k00009']
  })
  // Postgres prints numbers in full and escapes control characters: the estimate covers both.
  await refuse(
    'numbers',
    Array.from({ length: 50 }, () => 1e300)
  )
  await refuse('escapes', { a: '\u0001'.repeat(2000), b: '"\\'.repeat(600) })

  // Any JSON at all, stored as jsonb, stays within the cap; what is kept whole comes close to it.
  const text = fc.string({
    unit: fc.constantFrom('a', 'é', '😀', '"', '\\', '\n', '\u0001', '\u2028'),
    maxLength: 300,
    size: 'max'
  })
  const leaf = fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))
  const values = fc.sample(
    fc.oneof(
      fc.jsonValue({ maxDepth: 8 }),
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 30 }), fc.oneof(leaf, fc.array(leaf, { maxLength: 20 })), {
        maxKeys: 60,
        size: 'max'
      }),
      fc.array(leaf, { maxLength: 80, size: 'max' })
    ),
    { numRuns: 400, seed: 31 }
  )
  let worst = 0
  let nearCap = 0
  for (const value of values) {
    const scrubbed = scrub(value) as Record<string, unknown>
    const [{ bytes }] = await sql<{ bytes: number }[]>`
      select octet_length((${sql.json(scrubbed as never)}::jsonb)::text) as bytes
    `
    worst = Math.max(worst, bytes)
    if (bytes > CHANGES_MAX_BYTES * 0.75 && !scrubbed?.['[truncated]']) nearCap++
  }
  t.ok(worst <= CHANGES_MAX_BYTES, `the largest of ${values.length} scrubbed values is ${worst} bytes`)
  t.ok(nearCap > 10, `${nearCap} values kept whole at over 3 KB: the estimate is close, not just safe`)
})

t.test('refusal counts are added up in memory and written in one statement a flush', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  let statements = 0
  const counting = new Proxy(sql, {
    apply(target, thisArg, args) {
      statements++
      return Reflect.apply(target, thisArg, args)
    }
  })
  const errors: string[] = []
  const counts = new RefusalCounts(counting, (msg) => errors.push(msg))
  const minute = Date.UTC(2030, 0, 1, 10, 0)
  for (let i = 0; i < 5000; i++) counts.count(minute, i % 2 ? '192.0.2.1' : '2001:db8:1:2::/64', '/auth/login', 401)
  counts.count(minute + 60_000, '192.0.2.1', '/workspaces', 429)
  await counts.flush()
  t.equal(statements, 1, 'one upsert for 5001 refusals')
  for (let i = 0; i < 10; i++) counts.count(minute, '192.0.2.1', '/auth/login', 401)
  await counts.flush()
  await counts.flush()
  t.equal(statements, 2, 'nothing pending, nothing sent')
  t.same(
    await sql`select minute, abbrev(ip) as ip, route, status, count from app.audit_refusals order by minute, ip`,
    [
      { minute: new Date(minute), ip: '192.0.2.1', route: '/auth/login', status: 401, count: 2510 },
      { minute: new Date(minute), ip: '2001:db8:1:2::/64', route: '/auth/login', status: 401, count: 2500 },
      { minute: new Date(minute + 60_000), ip: '192.0.2.1', route: '/workspaces', status: 429, count: 1 }
    ],
    'added to the rows already there'
  )
  t.same(
    [...counts.totals()],
    [
      { route: '/auth/login', status: 401, count: 5010 },
      { route: '/workspaces', status: 429, count: 1 }
    ]
  )
  t.same(errors, [])

  await sql`insert into app.audit_refusals values (now() - interval '91 days', '192.0.2.9', '/auth/login', 401, 7)`
  t.equal(await deleteExpiredRefusals(sql), 1, 'housekeeping deletes counts past 90 days')
  t.equal((await sql`select count(*)::int as n from app.audit_refusals`)[0].n, 3, 'and keeps the rest')
})
