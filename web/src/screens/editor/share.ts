// Sharing a workspace: a read-only link (unguessable, revocable, live for a week) that another
// learner opens without a session and may fork; and the design alone as a JSON file to keep or
// import elsewhere (the workspaces screen imports it, validated like any design).
import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'
import type { ShareStatus } from '../../../../src/domain/resources.ts'
import { shares } from '../../api.ts'
import type { Design } from '../../design.ts'

/** The design as a file: components and links, nothing else of the workspace. */
export function downloadDesign(name: string, design: Design): void {
  const file = new Blob([`${JSON.stringify({ components: design.components, links: design.links }, null, 2)}\n`], {
    type: 'application/json'
  })
  const a = document.createElement('a')
  a.href = URL.createObjectURL(file)
  a.download = `${name.replace(/[^\w.-]+/g, '-').replace(/^-|-$/g, '') || 'design'}.design.json`
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}

export function ShareMenu(props: { workspaceId: string; name: string; design: Design }) {
  const [status, setStatus] = useState<ShareStatus | null>(null)
  const [link, setLink] = useState<string | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const menu = useRef<HTMLDetailsElement>(null)

  const refresh = () =>
    shares
      .status(props.workspaceId)
      .then(({ data }) => setStatus(data))
      .catch(() => {})

  async function make() {
    setMessage(null)
    try {
      const { data } = await shares.create(props.workspaceId, 7)
      setLink(new URL(data.url, location.origin).href)
      await refresh()
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err))
    }
  }

  async function revoke() {
    setMessage(null)
    try {
      await shares.revoke(props.workspaceId)
      setLink(null)
      setMessage('The link no longer works.')
      await refresh()
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err))
    }
  }

  const live = status?.live
  return html`
    <details class="exports share-menu" ref=${menu} onToggle=${(e: Event) => (e.target as HTMLDetailsElement).open && refresh()}>
      <summary>Share</summary>
      <div class="menu" role="group" aria-label="Share the design">
        ${live ? html`<p class="hint" data-share-live>A read-only link works until ${new Date(live.expiresAt).toLocaleString()}.</p>` : html`<p class="hint">Not shared.</p>`}
        ${
          link &&
          html`<label>Read-only link (shown this once)
            <input class="share-link" readonly value=${link} onFocus=${(e: Event) => (e.target as HTMLInputElement).select()} />
          </label>
          <button type="button" onClick=${() => navigator.clipboard?.writeText(link).then(() => setMessage('Copied.'))}>Copy the link</button>`
        }
        <button type="button" onClick=${make}>${live ? 'Make a new link (the old one stops)' : 'Make a read-only link (7 days)'}</button>
        ${live && html`<button type="button" class="danger" onClick=${revoke}>Stop sharing</button>`}
        <button type="button" onClick=${() => downloadDesign(props.name, props.design)}>Download the design (JSON)</button>
        ${message && html`<p class="share-message" role="status">${message}</p>`}
      </div>
    </details>
  `
}
