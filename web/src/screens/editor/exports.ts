// Reports: queue an export, wait for it, then download it or open the HTML in a tab of its own
// through a signed one-minute link (the report's own CSP applies there, not the app's).
import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'
import { api, poll } from '../../api.ts'

type Format = 'markdown' | 'json' | 'html'

async function exportLink(workspaceId: string, format: Format): Promise<string> {
  const { response } = await api<{ id: string }>('POST', `/workspaces/${workspaceId}/exports`, { format })
  const location = response.headers.get('location') ?? ''
  const done = await poll<{ status: string; error: string | null }>(location, () => {})
  if (done.status !== 'completed') throw new Error(done.error ?? 'The export failed')
  const { data } = await api<{ url: string }>('POST', `${location}/link`, {})
  return data.url
}

export function Exports(props: { workspaceId: string }) {
  const [state, setState] = useState<string | null>(null)
  const menu = useRef<HTMLDetailsElement>(null)
  const close = () => menu.current?.removeAttribute('open')

  async function download(format: Format) {
    close()
    setState(`Preparing ${format}…`)
    try {
      const url = await exportLink(props.workspaceId, format)
      const a = document.createElement('a')
      a.href = url
      a.download = ''
      document.body.append(a)
      a.click()
      a.remove()
      setState(null)
    } catch (err) {
      setState(err instanceof Error ? err.message : String(err))
    }
  }

  async function openHtml() {
    // Opened now, while the click still counts as the learner's, and pointed at the report once ready.
    const tab = window.open('about:blank', '_blank')
    close()
    setState('Preparing the report…')
    try {
      const url = await exportLink(props.workspaceId, 'html')
      if (tab) {
        tab.opener = null
        tab.location.href = `${url}&disposition=inline`
      }
      setState(null)
    } catch (err) {
      tab?.close()
      setState(err instanceof Error ? err.message : String(err))
    }
  }

  return html`
    <details class="exports" ref=${menu}>
      <summary>Export</summary>
      <div class="menu" role="group" aria-label="Export the report">
        <button type="button" onClick=${() => download('markdown')}>Download Markdown</button>
        <button type="button" onClick=${() => download('json')}>Download JSON</button>
        <button type="button" onClick=${() => download('html')}>Download HTML</button>
        <button type="button" onClick=${openHtml}>Open HTML report in a new tab</button>
      </div>
    </details>
    ${state && html`<span class="export-state" role="status">${state}</span>`}
  `
}
