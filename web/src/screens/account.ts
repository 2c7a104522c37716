// The learner's account: download everything of theirs, or delete the account (the password again).
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { ApiError, account, type User } from '../api.ts'
import { useHeadingFocus } from '../ui/focus.ts'

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Saves a file the script holds through a link the browser downloads (no inline script: the CSP stays strict). */
function save(file: Blob, filename: string) {
  const url = URL.createObjectURL(file)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

export function Account(props: { user: User; onDeleted: () => void }) {
  const heading = useHeadingFocus()
  const [exporting, setExporting] = useState(false)
  const [exported, setExported] = useState<string | null>(null)
  const [exportError, setExportError] = useState<string | null>(null)
  const [confirming, setConfirming] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const [deleteError, setDeleteError] = useState<string | null>(null)

  async function download() {
    setExporting(true)
    setExportError(null)
    try {
      const { file, filename } = await account.exportData()
      save(file, filename)
      setExported(filename)
    } catch (err) {
      setExportError(
        err instanceof ApiError && err.status === 429
          ? 'You downloaded your data several times this hour: try again later.'
          : messageOf(err)
      )
    } finally {
      setExporting(false)
    }
  }

  async function remove(event: Event) {
    event.preventDefault()
    const password = String(new FormData(event.target as HTMLFormElement).get('password') ?? '')
    setDeleting(true)
    setDeleteError(null)
    try {
      await account.remove(password)
      props.onDeleted()
    } catch (err) {
      setDeleting(false)
      setDeleteError(
        err instanceof ApiError && err.code === 'APP_ERR_WRONG_PASSWORD'
          ? 'That is not your password: nothing was deleted.'
          : messageOf(err)
      )
    }
  }

  return html`
    <main class="page account">
      <h1 tabindex="-1" ref=${heading}>Your account</h1>
      <dl class="account-facts">
        <dt>Name</dt><dd>${props.user.displayName}</dd>
        <dt>Email</dt><dd>${props.user.email}</dd>
      </dl>

      <section class="account-section" aria-labelledby="export-heading">
        <h2 id="export-heading">Export my data</h2>
        <p>One JSON file with your profile, your workspaces and traffic profiles, every run with its results and grades, and the list of reports you made.</p>
        <button type="button" class="primary" onClick=${download} disabled=${exporting}>
          ${exporting ? 'Preparing the file…' : 'Export my data'}
        </button>
        ${exported && html`<p class="notice" role="status">Downloaded <code>${exported}</code>.</p>`}
        ${exportError && html`<p class="error" role="alert">${exportError}</p>`}
      </section>

      <section class="account-section danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete my account</h2>
        <p>
          This deletes your account and everything in it: workspaces, runs, grades and reports. It cannot be
          undone: export your data first if you want to keep it.
        </p>
        ${
          confirming
            ? html`<form class="form" onSubmit=${remove} aria-label="Delete my account">
                <label>Your password, to confirm<input name="password" type="password" required autocomplete="current-password" /></label>
                ${deleteError && html`<p class="error" role="alert">${deleteError}</p>`}
                <div class="inline">
                  <button type="submit" class="danger" disabled=${deleting}>Delete my account for good</button>
                  <button type="button" onClick=${() => setConfirming(false)} disabled=${deleting}>Keep it</button>
                </div>
              </form>`
            : html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete my account…</button>`
        }
      </section>
    </main>
  `
}
