// System Design Coach in the browser: sign in, keep workspaces, sketch, simulate, learn.
import { html } from 'htm/preact'
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import {
  ApiError,
  onSessionEnded,
  publicCall,
  refreshSession,
  signIn,
  signInWithLink,
  signOut,
  signUp,
  type User
} from './api.ts'
import { Account } from './screens/account.ts'
import { Classes, ClassPage } from './screens/classes.ts'
import { Editor } from './screens/editor/index.ts'
import { Exercises, startExercise } from './screens/exercises.ts'
import { ForgotPassword, ResetPassword } from './screens/password-reset.ts'
import { ProgressPage } from './screens/progress.ts'
import { SharedPage } from './screens/shared.ts'
import { Workspaces } from './screens/workspaces.ts'
import { FieldError } from './ui/field-error.ts'
import { TabPanel, Tabs } from './ui/tabs.ts'

type Route =
  | { page: 'workspaces' }
  | { page: 'editor'; id: string }
  | { page: 'sign-in-link'; token: string }
  | { page: 'account' }
  | { page: 'exercises' }
  | { page: 'classes' }
  | { page: 'class'; id: string }
  | { page: 'progress' }
  | { page: 'forgot-password' }
  | { page: 'reset-password'; token: string }

function routeOf(hash: string): Route {
  const editor = /^#\/w\/([0-9a-f-]{36})$/.exec(hash)
  if (editor) return { page: 'editor', id: editor[1] }
  // The emailed sign-in link: its token is in the fragment, which the browser never sends to a server.
  const link = /^#\/sign-in-link\/([A-Za-z0-9_-]{20,200})$/.exec(hash)
  if (link) return { page: 'sign-in-link', token: link[1] }
  // The emailed reset link, likewise in the fragment.
  const reset = /^#\/reset-password\/([A-Za-z0-9_-]{20,200})$/.exec(hash)
  if (reset) return { page: 'reset-password', token: reset[1] }
  if (hash === '#/forgot-password') return { page: 'forgot-password' }
  if (hash === '#/exercises') return { page: 'exercises' }
  if (hash === '#/classes') return { page: 'classes' }
  const cls = /^#\/c\/([0-9a-f-]{36})$/.exec(hash)
  if (cls) return { page: 'class', id: cls[1] }
  if (hash === '#/progress') return { page: 'progress' }
  return hash === '#/account' ? { page: 'account' } : { page: 'workspaces' }
}

function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined)
  const [notice, setNotice] = useState<string | null>(null)
  const [route, setRoute] = useState<Route>(routeOf(location.hash))

  useEffect(() => {
    onSessionEnded(() => {
      setUser(null)
      setNotice('You were signed out because your session ended. Sign in again to go on.')
    })
    const onHash = () => setRoute(routeOf(location.hash))
    addEventListener('hashchange', onHash)
    refreshSession().then(setUser)
    return () => removeEventListener('hashchange', onHash)
  }, [])

  if (location.pathname === '/verify-email') return html`<${VerifyEmail} />`
  // A share link: its token in the path (the page's Referrer-Policy is no-referrer); no session needed.
  const shared = /^\/shared\/([A-Za-z0-9_-]{20,200})$/.exec(location.pathname)
  if (shared)
    return html`<${SharedPage} token=${shared[1]} user=${user} signIn=${html`<${AuthPage} notice=${null} onSignedIn=${setUser} />`} />`
  if (route.page === 'sign-in-link')
    return html`<${SignInLink} token=${route.token} onSignedIn=${(u: User) => {
      // The token is spent: out of the address bar and the history.
      history.replaceState(null, '', '/#/')
      setRoute({ page: 'workspaces' })
      setNotice(null)
      setUser(u)
    }} />`
  if (route.page === 'forgot-password') return html`<${ForgotPassword} />`
  if (route.page === 'reset-password') return html`<${ResetPassword} token=${route.token} />`
  if (user === undefined) return html`<main class="page"><p aria-busy="true">Loading…</p></main>`
  if (user === null)
    return html`<${AuthPage} notice=${notice} onSignedIn=${(u: User) => {
      setNotice(null)
      setUser(u)
      // A newcomer who pressed Start before having an account: the attempt opens now.
      const pending = sessionStorage.getItem(PENDING_EXERCISE)
      sessionStorage.removeItem(PENDING_EXERCISE)
      if (pending) startExercise(pending).catch((err) => setNotice(err instanceof Error ? err.message : String(err)))
    }} />`
  return html`
    <div class="shell">
      <header class="top">
        <a href="#/" class="brand">System Design Coach</a>
        <a href="#/exercises" class="exercises-link">Exercises</a>
        <a href="#/" class="workspaces-link">Workspaces</a>
        <a href="#/classes" class="classes-link">Classes</a>
        <a href="#/progress" class="progress-link">Progress</a>
        <span class="who">${user.displayName}</span>
        <a href="#/account" class="account-link">Account</a>
        <button type="button" onClick=${async () => {
          await signOut()
          setUser(null)
          setNotice('Signed out.')
        }}>Sign out</button>
      </header>
      ${
        route.page === 'editor'
          ? html`<${Editor} key=${route.id} id=${route.id} />`
          : route.page === 'classes'
            ? html`<${Classes} />`
            : route.page === 'class'
              ? html`<${ClassPage} key=${route.id} id=${route.id} />`
              : route.page === 'exercises'
                ? html`<main class="page"><${Exercises} onStart=${(slug: string) => startExercise(slug).catch((err) => setNotice(err instanceof Error ? err.message : String(err)))} /></main>`
                : route.page === 'progress'
                  ? html`<${ProgressPage} />`
                  : route.page === 'account'
                    ? html`<${Account} user=${user} onDeleted=${() => {
                        location.hash = '#/'
                        setUser(null)
                        setNotice('Your account and everything in it are deleted.')
                      }} />`
                    : html`<${Workspaces} />`
      }
    </div>
  `
}

/** The exercise a newcomer pressed Start on, begun once they have signed in. */
const PENDING_EXERCISE = 'sdc-start-exercise'

/** Where a newcomer lands: the exercises, and the way in. */
function AuthPage(props: { notice: string | null; onSignedIn: (u: User) => void }) {
  const [mode, setMode] = useState<'in' | 'up'>('in')
  const [pendingTitle, setPendingTitle] = useState<string | null>(null)
  function startLater(slug: string) {
    sessionStorage.setItem(PENDING_EXERCISE, slug)
    setPendingTitle(document.querySelector(`[data-exercise="${slug}"] h3`)?.textContent ?? slug)
    setMode('up')
    setTimeout(() => {
      const first = document.querySelector<HTMLElement>('.auth-panel input')
      first?.scrollIntoView({ block: 'center' })
      first?.focus()
    })
  }
  const [error, setError] = useState<string | null>(null)
  const [unverified, setUnverified] = useState<string | null>(null)
  const [info, setInfo] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  /** The api's sentence for each refused field, by field name. */
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({})

  async function submit(event: Event) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const email = String(form.get('email') ?? '')
    const password = String(form.get('password') ?? '')
    setBusy(true)
    setError(null)
    setInfo(null)
    setFieldErrors({})
    try {
      if (mode === 'up' && (await signUp(email, password, String(form.get('displayName') ?? ''))) === 'accepted') {
        // The same answer whether or not the address had an account: the mail says which.
        setUnverified(email)
        setInfo(`Check your inbox: we sent a message to ${email}. Open its link to confirm your email, then sign in.`)
        setMode('in')
        return
      }
      props.onSignedIn(await signIn(email, password))
    } catch (err) {
      if (err instanceof ApiError && err.code === 'APP_ERR_EMAIL_TAKEN') {
        setError('An account with this email exists already. Sign in, or reset its password if you forgot it.')
        setMode('in')
      } else if (err instanceof ApiError && err.code === 'APP_ERR_EMAIL_NOT_VERIFIED') {
        setUnverified(email)
        setInfo('Check your inbox: open the link we sent to confirm your email, then sign in.')
      } else if (err instanceof ApiError && err.code === 'APP_ERR_LOGIN_CHALLENGE') {
        // Not an error to fix here: the way in is the link in the mailbox.
        setInfo(`${err.message}. Open it on this device to finish signing in.`)
      } else if (err instanceof ApiError && err.problems.length > 0) {
        setFieldErrors(Object.fromEntries(err.problems.map((p) => [p.path.replace(/^\//, ''), p.message])))
      } else setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  /** A field's attributes when the api refused it: marked, and described by the sentence beside it. */
  const invalid = (name: string) =>
    fieldErrors[name] ? { 'aria-invalid': 'true', 'aria-describedby': `${name}-error` } : {}
  const errorOf = (name: string) => html`<${FieldError} id=${`${name}-error`} message=${fieldErrors[name] ?? null} />`

  async function resend() {
    if (!unverified) return
    await publicCall('/auth/resend-verification', { email: unverified }).catch(() => null)
    setInfo('If the account is waiting for confirmation, a new link is on its way.')
  }

  return html`
    <main class="landing">
      <h1>System Design Coach</h1>
      <p class="tagline">Sketch an architecture, put traffic through it, see where it breaks.</p>
      <div class="landing-grid">
      <${Exercises} heading="h2" onStart=${startLater} />
      <div class="auth auth-box">
      ${props.notice && html`<p class="notice" role="status">${props.notice}</p>`}
      ${pendingTitle && html`<p class="notice" role="status">Create an account (or sign in) to start “${pendingTitle}”.</p>`}
      <${Tabs} id="auth" tabs=${['in', 'up']} selected=${mode} label=${(m: string) => (m === 'in' ? 'Sign in' : 'Create account')}
        onSelect=${(m: 'in' | 'up') => {
          setMode(m)
          setFieldErrors({})
        }} />
      <${TabPanel} id="auth" selected=${mode} class="auth-panel">
      <form class="form" onSubmit=${submit} aria-label=${mode === 'in' ? 'Sign in' : 'Create account'}>
        ${mode === 'up' && html`<label>Your name<input name="displayName" required maxLength="80" autocomplete="name" ...${invalid('displayName')} /></label>${errorOf('displayName')}`}
        <label>Email<input name="email" type="email" required autocomplete="email" ...${invalid('email')} /></label>
        ${errorOf('email')}
        <label>Password<input name="password" type="password" required minLength=${mode === 'up' ? 12 : 1} autocomplete=${mode === 'up' ? 'new-password' : 'current-password'} ...${invalid('password')} /></label>
        ${errorOf('password')}
        ${mode === 'up' && html`<p class="field-hint">At least 12 characters.</p>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${info && html`<p class="notice" role="status">${info}</p>`}
        <button class="primary" type="submit" disabled=${busy}>${mode === 'in' ? 'Sign in' : 'Create account'}</button>
        ${unverified && html`<button type="button" onClick=${resend}>Send the link again</button>`}
        ${mode === 'in' && html`<a href="#/forgot-password" class="forgot">Forgot password?</a>`}
      </form>
      <//>
      </div>
      </div>
    </main>
  `
}

function VerifyEmail() {
  const [state, setState] = useState<'working' | 'done' | 'failed'>('working')
  useEffect(() => {
    const token = new URLSearchParams(location.search).get('token') ?? ''
    publicCall('/auth/verify-email', { token }).then(
      () => setState('done'),
      () => setState('failed')
    )
  }, [])
  return html`
    <main class="auth">
      <h1>System Design Coach</h1>
      ${state === 'working' && html`<p aria-busy="true">Confirming your email…</p>`}
      ${state === 'done' && html`<p class="notice" role="status">Your email is confirmed. <a href="/">Sign in</a>.</p>`}
      ${state === 'failed' && html`<p class="error" role="alert">This link is invalid or has expired. Sign in to ask for a new one. <a href="/">Sign in</a></p>`}
    </main>
  `
}

/** Where the emailed sign-in link lands: a click signs in (a mail scanner that opens links does not click). */
function SignInLink(props: { token: string; onSignedIn: (u: User) => void }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  async function finish() {
    setBusy(true)
    setError(null)
    try {
      props.onSignedIn(await signInWithLink(props.token))
    } catch (err) {
      setBusy(false)
      setError(
        err instanceof ApiError && err.transient
          ? err.message
          : 'This sign-in link is not valid, was used already or has expired. Sign in again to get a new one.'
      )
    }
  }

  return html`
    <main class="auth">
      <h1>System Design Coach</h1>
      <p>Finish signing in on this device. It will be remembered: from here, your password is enough.</p>
      ${error && html`<p class="error" role="alert">${error} <a href="#/">Sign in</a></p>`}
      <button class="primary" type="button" onClick=${finish} disabled=${busy}>Finish signing in</button>
    </main>
  `
}

const root = document.getElementById('app')
if (root) {
  root.textContent = ''
  render(html`<${App} />`, root)
}
