import { randomBytes } from 'node:crypto'
import nodemailer from 'nodemailer'
import type { JobWithMetadata } from 'pg-boss'
import { type Static, Type } from 'typebox'
import { hashToken } from '../src/accounts/accounts.ts'
import type { Config } from '../src/config.ts'
import type { Sql } from '../src/db/client.ts'
import { Uuid } from '../src/schemas.ts'
import { defineJob, jobPayload } from './define.ts'

const Payload = Type.Union([
  jobPayload({ kind: Type.Literal('verify'), userId: Uuid }),
  // A challenged login with the right password (src/routes/auth): a one-time sign-in link.
  jobPayload({ kind: Type.Literal('login-link'), userId: Uuid })
])
export type EmailJob = Static<typeof Payload>

/** How long a sign-in link works. */
export const LOGIN_LINK_TTL_MINUTES = 15

export interface Mail {
  to: string
  subject: string
  text: string
}

export type SendMail = (mail: Mail, jobId: string) => Promise<void>

/** SMTP through nodemailer when SMTP_URL is set; otherwise the development outbox (a table and a log line). */
export function createMailer(sql: Sql, email: Config['email'], log: (msg: string) => void): SendMail {
  if (email.smtpUrl) {
    const transport = nodemailer.createTransport(email.smtpUrl)
    return async (mail) => {
      await transport.sendMail({ from: email.from, to: mail.to, subject: mail.subject, text: mail.text })
    }
  }
  return async (mail, jobId) => {
    await sql`insert into app.email_outbox ${sql({ to_address: mail.to, subject: mail.subject, body: mail.text, job_id: jobId })}`
    // The link is a credential (it verifies the address): it stays in the table, out of the logs.
    log(
      `development outbox: "${mail.subject}" to ${mail.to} (read it with: select body from app.email_outbox where job_id = '${jobId}')`
    )
  }
}

export function createHandler(sql: Sql, email: Config['email'], send: SendMail) {
  const base = email.publicBaseUrl.replace(/\/$/, '')

  async function verify(job: JobWithMetadata<EmailJob>) {
    const { userId } = job.data
    const [user] = await sql<{ email: string; verified: boolean }[]>`
      select email, email_verified_at is not null as verified
      from app.users
      where id = ${userId}
    `
    if (!user || user.verified) return { skipped: user ? 'verified' : 'deleted' }
    // The token is made here, so its raw form exists only in the message; a retry replaces its own.
    const token = randomBytes(32).toString('base64url')
    const expiresAt = new Date(Date.now() + email.verificationTtlHours * 3600_000)
    await sql.begin(async (tx) => {
      await tx`delete from app.email_verification_tokens where job_id = ${job.id} and used_at is null`
      await tx`
        insert into app.email_verification_tokens ${tx({ token_hash: hashToken(token), user_id: userId, job_id: job.id, expires_at: expiresAt })}
      `
    })
    const link = `${base}/verify-email?token=${token}`
    await send(
      {
        to: user.email,
        subject: 'Confirm your email for System Design Coach',
        text: `Confirm your email address by opening this link (valid for ${email.verificationTtlHours} hours):\n${link}\n\nIf you did not register, ignore this message.`
      },
      job.id
    )
    return { sent: true, expiresAt: expiresAt.toISOString() }
  }

  async function loginLink(job: JobWithMetadata<EmailJob>) {
    const { userId } = job.data
    const [user] = await sql<{ email: string; disabled: boolean }[]>`
      select email, disabled_at is not null as disabled
      from app.users
      where id = ${userId}
    `
    if (!user || user.disabled) return { skipped: user ? 'disabled' : 'deleted' }
    const token = randomBytes(32).toString('base64url')
    const expiresAt = new Date(Date.now() + LOGIN_LINK_TTL_MINUTES * 60_000)
    await sql.begin(async (tx) => {
      // A retry replaces its own token; spent and expired ones of the user go (the table stays small).
      await tx`
        delete from app.login_link_tokens
        where user_id = ${userId}
          and (job_id = ${job.id} or used_at is not null or expires_at < now())
      `
      await tx`
        insert into app.login_link_tokens ${tx({ token_hash: hashToken(token), user_id: userId, job_id: job.id, expires_at: expiresAt })}
      `
    })
    // In the fragment: the browser never sends it, so no server or proxy log can hold it.
    const link = `${base}/#/sign-in-link/${token}`
    await send(
      {
        to: user.email,
        subject: 'Your sign-in link for System Design Coach',
        text: `Someone (we hope you) signed in to your account with your password from a browser we do not know, while the account is seeing many failed sign-ins.\nTo finish signing in, open this link (valid for ${LOGIN_LINK_TTL_MINUTES} minutes, once):\n${link}\n\nIf it was not you, someone else knows your password: sign in and change it.`
      },
      job.id
    )
    return { sent: true, expiresAt: expiresAt.toISOString() }
  }

  return async function emailJob(job: JobWithMetadata<EmailJob>): Promise<unknown> {
    return job.data.kind === 'login-link' ? loginLink(job) : verify(job)
  }
}

export const job = defineJob({
  name: 'email',
  options: {
    retryLimit: 5,
    retryDelay: 10,
    retryBackoff: true,
    expireInSeconds: 60,
    deadLetter: 'email_dead',
    notify: true
  },
  payload: Payload,
  create: ({ sql, config, log }) => ({
    handle: createHandler(
      sql,
      config.email,
      createMailer(sql, config.email, (msg) => log.info(msg))
    )
  })
})
