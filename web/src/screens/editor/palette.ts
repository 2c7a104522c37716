// The palette: a button for each component type of the catalogue, in its order.
import { html } from 'htm/preact'
import type { Catalogue } from '../../../../src/domain/components.ts'
import type { Action } from '../../store.ts'
import { iconPath } from '../../ui/icons.ts'

export function Palette(props: { catalogue: Catalogue; dispatch: (action: Action) => void; onAdded: () => void }) {
  return html`
    <nav class="palette" aria-label="Add a component">
      <h2>Add</h2>
      ${Object.entries(props.catalogue).map(
        ([type, kind]) => html`
          <button class="palette-item" onClick=${() => {
            props.dispatch({ type: 'add', componentType: type })
            props.onAdded()
          }} aria-label=${`Add ${kind.label}`} data-type=${type}>
            <svg viewBox="0 0 24 24" aria-hidden="true" class="palette-icon"><path d=${iconPath(kind.icon)} /></svg>
            <span>${kind.label}</span>
          </button>
        `
      )}
    </nav>
  `
}
