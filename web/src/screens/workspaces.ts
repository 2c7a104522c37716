// The learner's workspaces: newest first, a page at a time; create, rename, describe, delete.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import type { WorkspaceSummary as Summary } from '../../../src/domain/resources.ts'
import { ApiError, workspaces } from '../api.ts'
import { catalogue } from '../catalogue.ts'
import { starterDesign } from '../design.ts'

export function Workspaces() {
  const [items, setItems] = useState<Summary[] | null>(null)
  const [cursor, setCursor] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [editing, setEditing] = useState<string | null>(null)

  async function load(after: string | null) {
    try {
      const { data } = await workspaces.list(after)
      setItems((old) => (after && old ? [...old, ...data.items] : data.items))
      setCursor(data.nextCursor)
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }
  useEffect(() => void load(null), [])

  async function create(event: Event) {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const name = String(new FormData(form).get('name') ?? '').trim()
    if (!name) return
    try {
      const { data } = await workspaces.create(name, starterDesign(catalogue))
      location.hash = `#/w/${data.id}`
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }

  async function remove(w: Summary) {
    if (!confirm(`Delete “${w.name}” and all its runs? This cannot be undone.`)) return
    try {
      await workspaces.remove(w.id)
      setItems((old) => old?.filter((x) => x.id !== w.id) ?? null)
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }

  async function saveDetails(w: Summary, event: Event) {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    try {
      const { data } = await workspaces.describe(w.id, w.version, {
        name: String(form.get('name') ?? '').trim(),
        description: String(form.get('description') ?? '')
      })
      const { name, description, version, updatedAt } = data
      setItems((old) => old?.map((x) => (x.id === w.id ? { ...x, name, description, version, updatedAt } : x)) ?? null)
      setEditing(null)
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setError(`“${w.name}” was changed elsewhere; the list is reloaded, try again.`)
        await load(null)
      } else setError(err instanceof Error ? err.message : String(err))
    }
  }

  return html`
    <main class="page">
      <h1>Your workspaces</h1>
      <form class="create" onSubmit=${create} aria-label="New workspace">
        <label>New workspace<input name="name" required maxLength="120" placeholder="e.g. URL shortener" /></label>
        <button class="primary" type="submit">Create</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${items === null && !error && html`<p aria-busy="true">Loading…</p>`}
      ${items?.length === 0 && html`<p class="hint">No workspaces yet: create one to start sketching.</p>`}
      <ul class="ws-list">
        ${items?.map((w) =>
          editing === w.id
            ? html`<li class="ws-item">
                <form class="form" onSubmit=${(e: Event) => saveDetails(w, e)} aria-label=${`Edit ${w.name}`}>
                  <label>Name<input name="name" value=${w.name} required maxLength="120" /></label>
                  <label>Description<textarea name="description" maxLength="2000">${w.description}</textarea></label>
                  <div class="inline"><button class="primary" type="submit">Save</button><button type="button" onClick=${() => setEditing(null)}>Cancel</button></div>
                </form>
              </li>`
            : html`<li class="ws-item">
                <a class="ws-open" href=${`#/w/${w.id}`}><strong>${w.name}</strong></a>
                <span class="ws-meta">${w.components} components · updated ${new Date(w.updatedAt).toLocaleString()}</span>
                ${w.description && html`<p class="ws-desc">${w.description}</p>`}
                <div class="inline">
                  <button type="button" onClick=${() => setEditing(w.id)} aria-label=${`Rename or describe ${w.name}`}>Rename / describe</button>
                  <button type="button" class="danger" onClick=${() => remove(w)} aria-label=${`Delete ${w.name}`}>Delete</button>
                </div>
              </li>`
        )}
      </ul>
      ${cursor && html`<button type="button" onClick=${() => load(cursor)}>More workspaces</button>`}
    </main>
  `
}
