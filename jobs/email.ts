import { randomBytes } from 'node:crypto'
import nodemailer from 'nodemailer'
import type { JobWithMetadata } from 'pg-boss'
import { hashToken } from '../src/accounts/accounts.ts'
import { type Recipient, recipientOf } from '../src/accounts/users.ts'
import { invitationToMail } from '../src/classes/invitation-mail.ts'
import type { Config } from '../src/config.ts'
import type { Sql } from '../src/db/client.ts'
import { EmailJob, type JobData } from '../src/queue/messages.ts'
import { defineJob } from './define.ts'

/** How long a password reset link works. */
export const RESET_TTL_MINUTES = 30
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

type InvitationJob = Extract<JobData<typeof EmailJob>, { kind: 'class-invitation' }>

export function createHandler(sql: Sql, email: Config['email'], send: SendMail) {
  const base = email.publicBaseUrl.replace(/\/$/, '')

  /** A fresh single-use token; its raw form goes only into the mail. A retried job replaces its own unused one. */
  async function issueToken(purpose: 'verify' | 'reset' | 'login-link', userId: string, jobId: string, ttlMs: number) {
    const token = randomBytes(32).toString('base64url')
    const expiresAt = new Date(Date.now() + ttlMs)
    const row = { token_hash: hashToken(token), user_id: userId, job_id: jobId, expires_at: expiresAt }
    await sql.begin(async (tx) => {
      if (purpose === 'verify') {
        await tx`delete from app.email_verification_tokens where job_id = ${jobId} and used_at is null`
        await tx`insert into app.email_verification_tokens ${tx(row)}`
        return
      }
      if (purpose === 'login-link') {
        // The user's spent and expired links go with the retry's own: the table stays small.
        await tx`
          delete from app.login_link_tokens
          where user_id = ${userId}
            and (job_id = ${jobId} or used_at is not null or expires_at < now())
        `
        await tx`insert into app.login_link_tokens ${tx(row)}`
        return
      }
      // Only the newest reset link works: the ones mailed before are spent.
      await tx`delete from app.password_reset_tokens where job_id = ${jobId} and used_at is null`
      await tx`update app.password_reset_tokens set used_at = now() where user_id = ${userId} and used_at is null`
      await tx`insert into app.password_reset_tokens ${tx(row)}`
    })
    return { token, expiresAt }
  }

  const mails = {
    async verify(job: JobWithMetadata<JobData<typeof EmailJob>>, userId: string, user: Recipient) {
      if (user.verified) return { skipped: 'verified' }
      const { token, expiresAt } = await issueToken('verify', userId, job.id, email.verificationTtlHours * 3600_000)
      await send(
        {
          to: user.email,
          subject: 'Confirm your email for System Design Coach',
          text: `Confirm your email address by opening this link (valid for ${email.verificationTtlHours} hours):\n${base}/verify-email?token=${token}\n\nIf you did not register, ignore this message.`
        },
        job.id
      )
      return { sent: true, expiresAt: expiresAt.toISOString() }
    },

    async 'password-reset'(job: JobWithMetadata<JobData<typeof EmailJob>>, userId: string, user: Recipient) {
      if (user.disabled) return { skipped: 'disabled' }
      const { token, expiresAt } = await issueToken('reset', userId, job.id, RESET_TTL_MINUTES * 60_000)
      // In the fragment: the browser never sends it to a server, so no access log or Referer holds it.
      await send(
        {
          to: user.email,
          subject: 'Reset your System Design Coach password',
          text: `Someone (we hope you) asked to reset the password of your System Design Coach account.\nChoose a new password by opening this link (valid for ${RESET_TTL_MINUTES} minutes, once):\n${base}/#/reset-password/${token}\n\nIf you did not ask, ignore this message: your password stays as it is.`
        },
        job.id
      )
      return { sent: true, expiresAt: expiresAt.toISOString() }
    },

    async 'login-link'(job: JobWithMetadata<JobData<typeof EmailJob>>, userId: string, user: Recipient) {
      if (user.disabled) return { skipped: 'disabled' }
      const { token, expiresAt } = await issueToken('login-link', userId, job.id, LOGIN_LINK_TTL_MINUTES * 60_000)
      await send(
        {
          to: user.email,
          subject: 'Your sign-in link for System Design Coach',
          text: `Someone (we hope you) signed in to your account with your password from a browser we do not know, while the account is seeing many failed sign-ins.\nTo finish signing in, open this link (valid for ${LOGIN_LINK_TTL_MINUTES} minutes, once):\n${base}/#/sign-in-link/${token}\n\nIf it was not you, someone else knows your password: sign in and change it.`
        },
        job.id
      )
      return { sent: true, expiresAt: expiresAt.toISOString() }
    },

    async 'signup-taken'(job: JobWithMetadata<JobData<typeof EmailJob>>, _userId: string, user: Recipient) {
      if (user.disabled) return { skipped: 'disabled' }
      await send(
        {
          to: user.email,
          subject: 'Someone tried to sign up with your address',
          text: `Someone tried to create a System Design Coach account with this address, which already has one.\nIf it was you, sign in at ${base}/ or, if you forgot your password, reset it at ${base}/#/forgot-password\n\nIf it was not you, ignore this message: nothing changed.`
        },
        job.id
      )
      return { sent: true }
    }
  }

  /** A class invitation, to the address invited: where to accept it (signed in with that address). */
  async function invitation(job: JobWithMetadata<JobData<typeof EmailJob>>, data: InvitationJob) {
    const found = await invitationToMail(
      sql,
      { userId: data.ownerId, organisationId: data.organisationId },
      data.invitationId
    )
    if (!found) return { skipped: 'gone' }
    if (!found.open) return { skipped: 'closed' }
    const until = found.expiresAt.toISOString().slice(0, 10)
    await send(
      {
        to: found.email,
        subject: `You are invited to the class “${found.className}” on System Design Coach`,
        text: `An instructor of ${found.organisationName} invited this address to the class “${found.className}”.\nTo accept, sign in (or sign up) with this address and open your classes (the invitation is open until ${until}):\n${base}/#/classes\n\nIf you do not know the sender, ignore this message: nothing happens without you.`
      },
      job.id
    )
    return { sent: true }
  }

  return async function emailJob(job: JobWithMetadata<JobData<typeof EmailJob>>): Promise<unknown> {
    const data = job.data
    if (data.kind === 'class-invitation') return invitation(job, data)
    const { kind, userId } = data
    if (userId === null) return { skipped: 'no account' }
    const user = await recipientOf(sql, userId)
    if (!user) return { skipped: 'deleted' }
    return mails[kind](job, userId, user)
  }
}

export const job = defineJob({
  message: EmailJob,
  options: {
    retryLimit: 5,
    retryDelay: 10,
    retryBackoff: true,
    expireInSeconds: 60,
    deadLetter: 'email_dead',
    notify: true
  },
  create: ({ sql, config, log }) => ({
    handle: createHandler(
      sql,
      config.email,
      createMailer(sql, config.email, (msg) => log.info(msg))
    )
  })
})
