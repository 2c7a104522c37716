import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { anchorAuditChain, sealAuditLog, verifyAuditChain } from '../../plugins/audit.ts'
import { fork } from '../../reliability/lib/process.ts'
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrate.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { bearer, PASSWORD, registerAndLogin, uniqueEmail } from '../helpers/users.ts'

const ENV = { RATE_LIMIT_MAX_REQUESTS: '100000', AUTH_RATE_LIMIT_MAX_REQUESTS: '100000' }

t.test('audit log', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
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

  t.test('a route whose audit row leads its statement (auditWith) commits both or neither', async (t) => {
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
    const fresh = testSql(t, freshUrl)
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
    const tail = testSql(t, tailUrl)
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
    const fresh = testSql(t, freshUrl)
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
    const { url } = await createTestDatabase(t, { migrated: false })
    const sql = testSql(t, url)
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
