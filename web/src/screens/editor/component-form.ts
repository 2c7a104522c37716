// The selected component's properties: its fields are those its type has in the catalogue, with
// the catalogue's bounds; each change is dispatched to the store.
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import {
  type Catalogue,
  COMPONENT_FIELDS,
  type ComponentField,
  fieldsOf,
  hasTrait,
  kindOf,
  LIMITS,
  type NumberField
} from '../../../../src/domain/components.ts'
import type { Problem } from '../../api.ts'
import { type Component, type Design, isFreeId, linkTargets } from '../../design.ts'
import type { Action } from '../../store.ts'
import { NumberInput, numberOrUndefined } from '../../ui/number-input.ts'

export const problemFor = (problems: Problem[], field: string) => problems.filter((p) => p.path.endsWith(`/${field}`))

/** A problem's messages beside its field (`id`: the one the field's aria-describedby names). */
export const FieldErrors = (props: { problems: Problem[]; id?: string }) =>
  props.problems.map((p) => html`<p class="field-error" id=${props.id} role="alert">${p.message}</p>`)

/** What an empty field means, where its type has a default. */
function placeholderOf(key: ComponentField, kind: ReturnType<typeof kindOf>): string | undefined {
  if (key === 'availability') return kind ? String(kind.availability) : undefined
  if (key === 'costPerMonth') return kind ? String(kind.costPerMonth) : undefined
  return undefined
}

export function ComponentForm(props: {
  component: Component
  design: Design
  catalogue: Catalogue
  problems: Problem[]
  dispatch: (action: Action) => void
  onSelectLink: (index: number) => void
}) {
  const c = props.component
  const { catalogue, dispatch } = props
  const kind = kindOf(catalogue, c.type)
  const source = hasTrait(catalogue, c.type, 'source')
  const [idDraft, setIdDraft] = useState(c.id)
  const [linkTarget, setLinkTarget] = useState('')
  const idOk = isFreeId(props.design, idDraft, c.id)
  const set = (patch: Partial<Component>) => dispatch({ type: 'setField', id: c.id, patch })
  const general = props.problems.filter(
    (p) => /^\/components\/\d+$/.test(p.path) || p.path.endsWith('/id') || p.path.endsWith('/type')
  )
  const outgoing = props.design.links.map((l, i) => ({ l, i })).filter(({ l }) => l.from === c.id)
  const targets = linkTargets(props.design, catalogue, c.id)
  const zoneProblems = problemFor(props.problems, 'zones')
  return html`
    <form class="form" onSubmit=${(e: Event) => e.preventDefault()} aria-label=${`Component ${c.id}`}>
      <h2>${kind?.label ?? c.type} <code>${c.id}</code></h2>
      <${FieldErrors} problems=${general} />
      <label>Id
        <input value=${idDraft} aria-invalid=${!idOk} maxLength=${LIMITS.idLength} onInput=${(e: Event) => setIdDraft((e.target as HTMLInputElement).value)}
          onChange=${() => idOk && idDraft !== c.id && dispatch({ type: 'rename', id: c.id, newId: idDraft })} />
      </label>
      ${!idOk && html`<p class="field-error">a–z, 0–9, _ and -, unique in the design</p>`}
      <label>Name
        <input value=${c.name ?? ''} maxLength=${LIMITS.nameLength} onChange=${(e: Event) => set({ name: (e.target as HTMLInputElement).value || undefined })} />
      </label>
      ${source && html`<p class="hint">A client sends the traffic profile’s requests; it has nothing to size.</p>`}
      ${fieldsOf(catalogue, c.type).map((key) => {
        const f: NumberField = COMPONENT_FIELDS[key]
        const errors = problemFor(props.problems, key)
        return html`
          <label>${f.label}
            <${NumberInput} name=${key} step=${f.step ?? (f.integer ? '1' : 'any')} min=${f.min} max=${f.max}
              placeholder=${placeholderOf(key, kind)}
              value=${c[key] ?? ''} aria-invalid=${errors.length > 0} aria-describedby=${errors.length > 0 ? `err-${key}` : undefined}
              onCommit=${(input: HTMLInputElement) => set({ [key]: numberOrUndefined(input) })} />
          </label>
          ${f.hint && html`<p class="field-hint">${f.hint}</p>`}
          <${FieldErrors} problems=${errors} id=${`err-${key}`} />
        `
      })}
      ${
        !source &&
        html`<label class="check-row"><input type="checkbox" name="delay" checked=${c.delay === true}
          onChange=${(e: Event) => set({ delay: (e.target as HTMLInputElement).checked || undefined })} />
          A pure delay (never queues: an external API, an object store)</label>
        <label>Zones (comma-separated; instances spread over them)
          <input name="zones" value=${(c.zones ?? []).join(', ')} aria-invalid=${zoneProblems.length > 0}
            onChange=${(e: Event) => {
              const zones = (e.target as HTMLInputElement).value
                .split(',')
                .map((z) => z.trim())
                .filter(Boolean)
              set({ zones: zones.length > 0 ? zones : undefined })
            }} />
        </label>
        <${FieldErrors} problems=${zoneProblems} />`
      }
      <label>Routing of outgoing links
        <select name="routing" value=${c.routing ?? ''} onChange=${(e: Event) => set({ routing: ((e.target as HTMLSelectElement).value || undefined) as Component['routing'] })}>
          <option value="">default (${kind?.routing ?? 'calls'})</option>
          <option value="split">split: each request takes one link</option>
          <option value="calls">calls: each link called on its own</option>
        </select>
      </label>
      <label>Calls
        <select name="calls" value=${c.calls ?? ''} onChange=${(e: Event) => set({ calls: ((e.target as HTMLSelectElement).value || undefined) as Component['calls'] })}>
          <option value="">sequential (default): one after another</option>
          <option value="parallel">parallel: all at once, waits for the slowest</option>
        </select>
      </label>
      <label>Balancing across instances
        <select name="balancing" value=${c.balancing ?? ''} onChange=${(e: Event) => set({ balancing: ((e.target as HTMLSelectElement).value || undefined) as Component['balancing'] })}>
          <option value="">pooled (default)</option>
          <option value="random">random: a queue per instance</option>
        </select>
      </label>
      <h3>Links out</h3>
      <ul class="link-list">
        ${outgoing.map(({ l, i }) => html`<li><button type="button" class="linkish" onClick=${() => props.onSelectLink(i)}>→ ${l.to}${l.share !== undefined && l.share !== 1 ? ` (${Math.round(l.share * 1000) / 10}%)` : ''}${l.traffic && l.traffic !== 'both' ? `, ${l.traffic}s` : ''}</button></li>`)}
      </ul>
      ${
        targets.length > 0 &&
        html`<div class="inline">
          <label>Link to
            <select value=${linkTarget} onChange=${(e: Event) => setLinkTarget((e.target as HTMLSelectElement).value)}>
              <option value="">choose…</option>
              ${targets.map((o) => html`<option value=${o.id}>${o.id}</option>`)}
            </select>
          </label>
          <button type="button" disabled=${!linkTarget} onClick=${() => {
            dispatch({ type: 'connect', from: c.id, to: linkTarget })
            setLinkTarget('')
          }}>Add link</button>
        </div>`
      }
      <button type="button" class="danger" onClick=${() => dispatch({ type: 'delete' })}>Delete component</button>
    </form>
  `
}
