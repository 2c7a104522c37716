// The learner's workspaces: newest first, a page at a time; create, rename, describe, delete.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import type { WorkspaceSummary as Summary } from '../../../src/domain/resources.ts'
import { ApiError, workspaces } from '../api.ts'
import { catalogue } from '../catalogue.ts'
import { starterDesign } from '../design.ts'
import { nameFromFile, readDesignFile } from '../design-file.ts'
import { FieldError, problemAt } from '../ui/field-error.ts'
import { useHeadingFocus } from '../ui/focus.ts'

export function Workspaces() {
  const [items, setItems] = useState<Summary[] | null>(null)
  const [cursor, setCursor] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [editing, setEditing] = useState<string | null>(null)
  const [nameError, setNameError] = useState<string | null>(null)
  const [renameError, setRenameError] = useState<string | null>(null)
  const heading = useHeadingFocus()
  /** The workspace last edited: the focus goes back to its button when its form closes. */
  const edited = useRef<string | null>(null)
  useEffect(() => {
    if (editing) edited.current = editing
    const target = editing
      ? document.querySelector<HTMLElement>('.ws-item form input[name="name"]')
      : edited.current
        ? document.getElementById(`rename-${edited.current}`)
        : null
    target?.focus()
  }, [editing])

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
    // Sent as typed: a blank name comes back with the api's sentence, shown beside the field.
    const name = String(new FormData(form).get('name') ?? '')
    setNameError(null)
    try {
      const { data } = await workspaces.create(name, starterDesign(catalogue))
      location.hash = `#/w/${data.id}`
    } catch (err) {
      const problem = problemAt(err, '/name')
      if (problem) setNameError(problem)
      else setError(err instanceof Error ? err.message : String(err))
    }
  }

  /** A design file made a new workspace: the api validates it like any design. */
  async function importFile(event: Event) {
    const input = event.target as HTMLInputElement
    const file = input.files?.[0]
    input.value = ''
    if (!file) return
    setError(null)
    const read = readDesignFile(await file.text())
    if ('error' in read) {
      setError(read.error)
      return
    }
    try {
      const { data } = await workspaces.create(nameFromFile(file.name), read.design)
      location.hash = `#/w/${data.id}`
    } catch (err) {
      const problems = err instanceof ApiError ? err.problems.map((p) => p.message) : []
      setError(
        problems.length > 0
          ? `The design in that file is not valid: ${problems.join('; ')}`
          : err instanceof Error
            ? err.message
            : String(err)
      )
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
    setRenameError(null)
    try {
      const { data } = await workspaces.describe(w.id, w.version, {
        name: String(form.get('name') ?? ''),
        description: String(form.get('description') ?? '')
      })
      const { name, description, version, updatedAt } = data
      setItems((old) => old?.map((x) => (x.id === w.id ? { ...x, name, description, version, updatedAt } : x)) ?? null)
      setEditing(null)
    } catch (err) {
      if (problemAt(err, '/name')) setRenameError(problemAt(err, '/name'))
      else if (err instanceof ApiError && err.status === 409) {
        setError(`“${w.name}” was changed elsewhere; the list is reloaded, try again.`)
        await load(null)
      } else setError(err instanceof Error ? err.message : String(err))
    }
  }

  return html`
    <main class="page">
      <h1 tabindex="-1" ref=${heading}>Your workspaces</h1>
      <form class="create" onSubmit=${create} aria-label="New workspace" novalidate>
        <label>New workspace<input name="name" aria-required="true" maxLength="120" placeholder="e.g. URL shortener"
          aria-invalid=${nameError !== null} aria-describedby=${nameError ? 'new-name-error' : undefined} onInput=${() => setNameError(null)} /></label>
        <button class="primary" type="submit">Create</button>
        <label class="import-design">Import a design (JSON)<input type="file" accept=".json,application/json" onChange=${importFile} /></label>
      </form>
      <${FieldError} id="new-name-error" message=${nameError} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${items === null && !error && html`<p aria-busy="true">Loading…</p>`}
      ${items?.length === 0 && html`<p class="hint">No workspaces yet: create one to start sketching.</p>`}
      <ul class="ws-list">
        ${items?.map((w) =>
          editing === w.id
            ? html`<li class="ws-item">
                <form class="form" onSubmit=${(e: Event) => saveDetails(w, e)} aria-label=${`Edit ${w.name}`} novalidate>
                  <label>Name<input name="name" defaultValue=${w.name} aria-required="true" maxLength="120"
                    aria-invalid=${renameError !== null} aria-describedby=${renameError ? 'rename-error' : undefined} /></label>
                  <${FieldError} id="rename-error" message=${renameError} />
                  <label>Description<textarea name="description" maxLength="2000">${w.description}</textarea></label>
                  <div class="inline"><button class="primary" type="submit">Save</button><button type="button" onClick=${() => {
                    setEditing(null)
                    setRenameError(null)
                  }}>Cancel</button></div>
                </form>
              </li>`
            : html`<li class="ws-item">
                <a class="ws-open" href=${`#/w/${w.id}`}><strong>${w.name}</strong></a>
                <span class="ws-meta">${w.components} components · updated ${new Date(w.updatedAt).toLocaleString()}</span>
                ${w.description && html`<p class="ws-desc">${w.description}</p>`}
                <div class="inline">
                  <button type="button" id=${`rename-${w.id}`} onClick=${() => setEditing(w.id)} aria-label=${`Rename or describe ${w.name}`}>Rename / describe</button>
                  <button type="button" class="danger" onClick=${() => remove(w)} aria-label=${`Delete ${w.name}`}>Delete</button>
                </div>
              </li>`
        )}
      </ul>
      ${cursor && html`<button type="button" onClick=${() => load(cursor)}>More workspaces</button>`}
    </main>
  `
}
