// "Forgot password?": ask for a link by email, then choose a new password on the page it opens
// (#/reset-password/<token>: in the fragment, so the token never reaches a server's log).
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { ApiError, account } from '../api.ts'

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

export function ForgotPassword() {
  const [sentTo, setSentTo] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: Event) {
    event.preventDefault()
    const email = String(new FormData(event.target as HTMLFormElement).get('email') ?? '').trim()
    setBusy(true)
    setError(null)
    try {
      await account.requestReset(email)
      setSentTo(email)
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 429
          ? 'Too many requests for now: wait a while, then ask again (or use the link already sent).'
          : messageOf(err)
      )
    } finally {
      setBusy(false)
    }
  }

  return html`
    <main class="auth">
      <h1>System Design Coach</h1>
      <h2>Reset your password</h2>
      ${
        sentTo
          ? html`<p class="notice" role="status">
              If an account uses <strong>${sentTo}</strong>, we have sent it a link to choose a new password.
              The link works once, for 30 minutes. Nothing arrived? Check the spam folder, or ask again in a
              minute.
            </p>`
          : html`<form class="form" onSubmit=${submit} aria-label="Reset your password">
              <p class="hint">Enter the email you signed up with. We will mail you a link to choose a new password.</p>
              <label>Email<input name="email" type="email" required autocomplete="email" /></label>
              ${error && html`<p class="error" role="alert">${error}</p>`}
              <button class="primary" type="submit" disabled=${busy}>Send the link</button>
            </form>`
      }
      <p><a href="#/">Back to sign in</a></p>
    </main>
  `
}

export function ResetPassword(props: { token: string }) {
  const [state, setState] = useState<'form' | 'done'>('form')
  const [error, setError] = useState<string | null>(null)
  const [mismatch, setMismatch] = useState(false)
  const [busy, setBusy] = useState(false)

  async function submit(event: Event) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const password = String(form.get('password') ?? '')
    if (password !== String(form.get('repeat') ?? '')) {
      setMismatch(true)
      return
    }
    setMismatch(false)
    setBusy(true)
    setError(null)
    try {
      await account.confirmReset(props.token, password)
      // The link is spent: out of the address bar and the history.
      history.replaceState(null, '', '/#/reset-password')
      setState('done')
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'APP_ERR_INVALID_TOKEN'
          ? 'This link is not valid any more: it was used, a newer one was sent, or its 30 minutes are over.'
          : messageOf(err)
      )
    } finally {
      setBusy(false)
    }
  }

  return html`
    <main class="auth">
      <h1>System Design Coach</h1>
      <h2>Choose a new password</h2>
      ${
        state === 'done'
          ? html`<p class="notice" role="status">
                Your password is changed, and every session of your account has ended. Sign in with the new password.
              </p>
              <p><a href="#/">Sign in</a></p>`
          : html`<form class="form" onSubmit=${submit} aria-label="Choose a new password">
                <label>New password<input name="password" type="password" required minLength="12" autocomplete="new-password" /></label>
                <p class="field-hint">At least 12 characters.</p>
                <label>New password, again<input name="repeat" type="password" required minLength="12" autocomplete="new-password" aria-invalid=${mismatch} /></label>
                ${mismatch && html`<p class="field-error" role="alert">The two passwords differ.</p>`}
                ${error && html`<p class="error" role="alert">${error} <a href="#/forgot-password">Ask for a new link</a></p>`}
                <button class="primary" type="submit" disabled=${busy}>Set the new password</button>
              </form>`
      }
    </main>
  `
}
