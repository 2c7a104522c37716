import t from 'tap'
import { createHandler } from '../../jobs/email.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, testSql, waitFor } from '../helpers/db.ts'
import { fork } from '../helpers/process.ts'
import { bearer, PASSWORD, registerAndLogin, type TestUser, uniqueEmail } from '../helpers/users.ts'

t.test('email verification end to end through the worker and the development outbox', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, {
    AUTH_EMAIL_VERIFICATION_REQUIRED: 'true',
    RATE_LIMIT_MAX_REQUESTS: '100000',
    AUTH_RATE_LIMIT_MAX_REQUESTS: '100000'
  })
  const worker = fork('jobs/worker.ts', { DATABASE_URL: url, PUBLIC_BASE_URL: 'https://coach.example.com' }, [
    '--queues',
    'email'
  ])
  t.teardown(() => {
    worker.child.kill('SIGKILL')
  })
  await worker.waitForLog(/worker ready/)

  const outbox = (to: string) => sql`select body from app.email_outbox where to_address = ${to} order by created_at`
  const tokenFrom = (body: string) => /verify-email\?token=([A-Za-z0-9_-]+)/.exec(body)?.[1] as string
  const login = (email: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  const verify = (token: string) => app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token } })

  t.test('registration sends a link; login waits for it; the link works once', async (t) => {
    const email = uniqueEmail()
    const reg = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, displayName: 'V' }
    })
    t.equal(reg.statusCode, 202, 'sign-up says only that it was accepted (the same for a taken email)')
    t.same(reg.json(), { status: 'accepted' })
    const [mail] = await waitFor(
      async () => {
        const rows = await outbox(email)
        return rows.length ? rows : null
      },
      { what: 'the verification email in the outbox' }
    )
    t.match(mail.body, /^Confirm your email address[\s\S]*https:\/\/coach\.example\.com\/verify-email\?token=/)
    // The worker logs after its insert commits: wait for the line rather than race the pipe.
    t.ok(
      await waitFor(() => worker.stdout.some((l) => l.includes('development outbox') && l.includes(email)), {
        what: 'the outbox log line'
      }),
      'the outbox says a mail is there'
    )
    const linkToken = mail.body.match(/token=([A-Za-z0-9_-]+)/)?.[1] as string
    t.notOk(
      worker.stdout.some((l) => l.includes(linkToken) || l.includes('verify-email?token')),
      'but never logs the link'
    )
    const [stored] =
      await sql`select token_hash from app.email_verification_tokens t join app.users u on u.id = t.user_id where u.email = ${email}`
    t.notOk(mail.body.includes(stored.token_hash), 'only the hash is stored')

    const early = await login(email)
    t.equal(early.statusCode, 403)
    t.equal(early.json().code, 'APP_ERR_EMAIL_NOT_VERIFIED')
    const token = tokenFrom(mail.body)
    t.equal((await verify(token)).statusCode, 204)
    t.equal((await login(email)).statusCode, 200)
    const reused = await verify(token)
    t.equal(reused.statusCode, 400, 'a used link fails')
    t.equal(reused.json().code, 'APP_ERR_INVALID_TOKEN')
    t.equal((await verify('x'.repeat(43))).statusCode, 400, 'an unknown token fails alike')
    const [audit] =
      await sql`select outcome from app.audit_log where action = 'auth.email.verify' and outcome = 'success'`
    t.ok(audit, 'verification is audited')
  })

  t.test('an expired link fails; resending sends a fresh one, once a minute, revealing nothing', async (t) => {
    const email = uniqueEmail()
    await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, displayName: 'E' }
    })
    const [first] = await waitFor(async () => ((await outbox(email)).length ? outbox(email) : null))
    await sql`update app.email_verification_tokens set expires_at = now() - interval '1 second'
              where user_id = (select id from app.users where email = ${email})`
    t.equal((await verify(tokenFrom(first.body))).statusCode, 400, 'expired')

    // The registration's email job holds this minute's singleton slot; a later resend goes through.
    await sql`update pgboss.job set singleton_on = singleton_on - interval '2 minutes' where name = 'email'`
    const known = await app.inject({ method: 'POST', url: '/auth/resend-verification', payload: { email } })
    const unknown = await app.inject({
      method: 'POST',
      url: '/auth/resend-verification',
      payload: { email: uniqueEmail('ghost') }
    })
    t.equal(known.statusCode, 202)
    t.equal(unknown.statusCode, known.statusCode)
    t.same(unknown.json(), known.json(), 'the same answer for an unknown email')
    const rows = await waitFor(
      async () => {
        const found = await outbox(email)
        return found.length === 2 ? found : null
      },
      { what: 'the second email' }
    )
    const again = await app.inject({ method: 'POST', url: '/auth/resend-verification', payload: { email } })
    t.equal(again.statusCode, 202, 'a resend within the minute is accepted…')
    t.equal(
      (
        await sql`select count(*)::int as n from pgboss.job where name = 'email' and data ->> 'userId' = (select id::text from app.users where email = ${email})`
      )[0].n,
      2,
      '…but queues nothing'
    )
    t.same(
      await sql`
        select count(*)::int as orphans
        from app.job_telemetry t
        where t.queue = 'email'
          and t.event = 'queued'
          and not exists (select 1 from pgboss.job j where j.id = t.job_id)
      `,
      [{ orphans: 0 }],
      'a refused singleton leaves no queued telemetry row'
    )
    t.equal(
      (
        await sql`
          select count(*)::int as n
          from app.job_telemetry t
          join pgboss.job j on j.id = t.job_id
          where t.event = 'queued'
            and j.data ->> 'userId' = (select id::text from app.users where email = ${email})
        `
      )[0].n,
      2,
      'each queued email job has its queued telemetry row'
    )
    t.equal((await verify(tokenFrom(rows[1].body))).statusCode, 204, 'the fresh link works')
    t.equal((await login(email)).statusCode, 200)
  })

  t.test('resend is rate limited with the other auth routes', async (t) => {
    const { app: strict } = await buildTestApp(t, url, {
      AUTH_EMAIL_VERIFICATION_REQUIRED: 'true',
      AUTH_RATE_LIMIT_MAX_REQUESTS: '2'
    })
    const statuses = []
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await strict.inject({ method: 'POST', url: '/auth/resend-verification', payload: { email: uniqueEmail() } }))
          .statusCode
      )
    }
    t.same(statuses, [202, 202, 429])
  })
})

t.test('with SMTP_URL the mail goes out over SMTP (to a minimal SMTP peer)', async (t) => {
  const { createServer } = await import('node:net')
  const { createMailer } = await import('../../jobs/email.ts')
  const received: string[] = []
  const server = createServer((socket) => {
    let inData = false
    let buffer = ''
    socket.write('220 test ESMTP\r\n')
    socket.on('data', (chunk) => {
      buffer += chunk.toString()
      let end = buffer.indexOf('\r\n')
      while (end !== -1) {
        const line = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (inData) {
          if (line === '.') {
            inData = false
            socket.write('250 queued\r\n')
          } else received.push(line)
        } else if (/^(EHLO|HELO)/i.test(line)) socket.write('250 test\r\n')
        else if (/^DATA/i.test(line)) {
          inData = true
          socket.write('354 go\r\n')
        } else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n')
        else socket.write('250 ok\r\n')
        end = buffer.indexOf('\r\n')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const send = createMailer(
    null as never,
    {
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'Coach <no-reply@example.com>',
      publicBaseUrl: 'x',
      verificationTtlHours: 1
    },
    () => {}
  )
  await send({ to: 'learner@example.com', subject: 'Confirm your email', text: 'hello over smtp' }, 'job-1')
  const message = received.join('\n')
  t.match(message, /Subject: Confirm your email/)
  t.match(message, /To: learner@example.com/)
  t.match(message, /hello over smtp/)
})

t.test('a class invitation is mailed to the address invited, enqueued with its row', async (t) => {
  const { url } = await createTestDatabase(t)
  const sql = testSql(t, url)
  const { app } = await buildTestApp(t, url, { PUBLIC_BASE_URL: 'https://coach.example.com' })
  const call = (user: TestUser, method: string, path: string, payload?: object) =>
    app.inject({ method: method as 'POST', url: path, headers: bearer(user), ...(payload ? { payload } : {}) })
  const classOf = async (name: string) => {
    const owner = await registerAndLogin(app)
    const org = (await call(owner, 'POST', '/orgs', { name })).json()
    const cls = (await call(owner, 'POST', '/classes', { organisationId: org.id, name: `Class ${name}` })).json()
    return { owner, org, cls }
  }
  const a = await classOf('a')
  const b = await classOf('b')
  const invited = await call(a.owner, 'POST', `/classes/${a.cls.id}/members`, { email: 'Learner.One@Example.com' })
  t.equal(invited.statusCode, 202, invited.body)
  const invitationId = invited.json().id
  const [queued] = await sql`
    select id, data from pgboss.job where name = 'email' and data ->> 'invitationId' = ${invitationId}
  `
  t.match(
    queued?.data,
    { kind: 'class-invitation', ownerId: a.owner.id, organisationId: a.org.id },
    'the mail’s job is written with the invitation, naming its inviter and organisation'
  )

  const mails: { to: string; subject: string; text: string }[] = []
  const handle = createHandler(sql, app.config.email, async (mail) => {
    mails.push(mail)
  })
  const job = (data: object) => ({ id: crypto.randomUUID(), data }) as never
  t.same(await handle(job(queued.data)), { sent: true })
  t.equal(mails.length, 1)
  t.equal(mails[0].to, 'learner.one@example.com', 'to the address invited')
  t.match(mails[0].subject, /Class a/)
  t.match(mails[0].text, /https:\/\/coach\.example\.com\/#\/classes/, 'with where to accept it')
  // A job acting for another organisation reads nothing of A's invitation, and sends nothing.
  t.same(await handle(job({ ...queued.data, ownerId: b.owner.id, organisationId: b.org.id })), { skipped: 'gone' })
  t.same(await handle(job({ ...queued.data, organisationId: b.org.id })), { skipped: 'gone' })
  t.equal(mails.length, 1, 'no mail for those')

  // A refused invitation (a bad address) writes no job.
  const before = (await sql`select count(*)::int as n from pgboss.job where name = 'email'`)[0].n
  t.equal((await call(a.owner, 'POST', `/classes/${a.cls.id}/members`, { email: 'nope' })).statusCode, 400)
  t.equal((await sql`select count(*)::int as n from pgboss.job where name = 'email'`)[0].n, before)
})
