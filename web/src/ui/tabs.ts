// Tabs as the ARIA pattern has them: one tab stop (the selected tab), the arrow keys, Home and End
// move between tabs and select the one they reach, and the panel is labelled by its tab.
import { html } from 'htm/preact'
import type { ComponentChildren } from 'preact'

export function Tabs<T extends string>(props: {
  /** Ids of the tabs and their panel start with it (one set of tabs per page). */
  id: string
  tabs: readonly T[]
  label: (tab: T) => string
  selected: T
  onSelect: (tab: T) => void
}) {
  const { id, tabs, selected } = props
  const onKeyDown = (event: KeyboardEvent) => {
    const at = tabs.indexOf(selected)
    const next =
      event.key === 'ArrowRight'
        ? (at + 1) % tabs.length
        : event.key === 'ArrowLeft'
          ? (at - 1 + tabs.length) % tabs.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? tabs.length - 1
              : -1
    if (next < 0) return
    event.preventDefault()
    props.onSelect(tabs[next])
    document.getElementById(`${id}-tab-${tabs[next]}`)?.focus()
  }
  return html`
    <div class="tabs" role="tablist" onKeyDown=${onKeyDown}>
      ${tabs.map(
        (t) =>
          html`<button type="button" role="tab" id=${`${id}-tab-${t}`} aria-controls=${`${id}-panel`} aria-selected=${t === selected}
            tabindex=${t === selected ? 0 : -1} class=${t === selected ? 'tab active' : 'tab'} onClick=${() => props.onSelect(t)}>${props.label(t)}</button>`
      )}
    </div>
  `
}

/**
 * The panel of the selected tab, labelled by it. `focusable`: a tab stop itself, for panels that
 * may hold nothing focusable (text only), so Tab still reaches what they say.
 */
export function TabPanel(props: {
  id: string
  selected: string
  class?: string
  focusable?: boolean
  children?: ComponentChildren
}) {
  return html`<div class=${props.class ?? 'tab-body'} role="tabpanel" id=${`${props.id}-panel`} aria-labelledby=${`${props.id}-tab-${props.selected}`} tabindex=${props.focusable ? 0 : undefined}>${props.children}</div>`
}
