// The editor's one store: the design, what is selected, and the undo history. Screens read its
// state and dispatch actions; `reduce` turns an action into the next state with the design
// operations of design.ts, so every edit is undoable and every step is testable without a page.
import type { Catalogue } from '../../src/domain/components.ts'
import { applyPatch, type DesignPatch } from '../../src/domain/patch.ts'
import {
  addComponent,
  type Component,
  connect,
  type Design,
  deleteComponent,
  deleteLink,
  EMPTY_DESIGN,
  type Link,
  move,
  rename,
  setField,
  setLinkField,
  tidyUp
} from './design.ts'

export type Selection = { kind: 'component'; id: string } | { kind: 'link'; index: number } | null

/** A design and what was selected with it: one step of the history. */
interface Snapshot {
  design: Design
  selection: Selection
}

export interface EditorState extends Snapshot {
  /** Earlier steps, the latest last; `undo` goes back to it. */
  past: Snapshot[]
  /** Steps undone, the next to redo last. */
  future: Snapshot[]
  /** The gesture the last step belongs to (a drag): the steps of one gesture undo together. */
  gesture: string | null
}

export type Action =
  /** A design from elsewhere (loaded, or the newer copy on a conflict): the history starts again. */
  | { type: 'load'; design: Design }
  | { type: 'select'; selection: Selection }
  | { type: 'add'; componentType: string }
  | { type: 'connect'; from: string; to: string }
  /** `gesture` names a drag: its moves are one step of the history. */
  | { type: 'move'; id: string; x: number; y: number; gesture?: string }
  /** The selection, whatever it is. */
  | { type: 'delete' }
  | { type: 'rename'; id: string; newId: string }
  | { type: 'setField'; id: string; patch: Partial<Component> }
  | { type: 'setLinkField'; index: number; patch: Partial<Link> }
  /** Another tab's saved change merged in (web/src/merge.ts): one step to undo, the selection kept. */
  | { type: 'merge'; design: Design /** It is the stored design already: nothing to save. */; saved?: boolean }
  /** Every component placed again by the layered layout: one step to undo. */
  | { type: 'tidy' }
  /** A suggestion's change (src/domain/patch.ts): one step, undone at once; nothing when it does not fit. */
  | { type: 'apply'; patch: DesignPatch }
  | { type: 'undo' }
  | { type: 'redo' }

/** Steps kept to undo. */
export const HISTORY_LIMIT = 100

export const initialState = (design: Design = EMPTY_DESIGN): EditorState => ({
  design,
  selection: null,
  past: [],
  future: [],
  gesture: null
})

/** A component a patch added is drawn beside the one its new links lead to (or below the others). */
function placed(before: Design, after: Design): Design {
  const had = new Set(before.components.map((c) => c.id))
  const at = new Map(after.components.map((c) => [c.id, c]))
  return {
    ...after,
    components: after.components.map((c) => {
      if (had.has(c.id) || (c.x !== undefined && c.y !== undefined)) return c
      const next = at.get(after.links.find((l) => l.from === c.id)?.to ?? '')
      const lowest = Math.max(0, ...before.components.map((x) => x.y ?? 0))
      return next?.x !== undefined && next.y !== undefined
        ? { ...c, x: next.x, y: next.y + 110 }
        : { ...c, x: 40, y: lowest + 110 }
    })
  }
}

/** A selection the design still has, else none. */
function kept(design: Design, selection: Selection): Selection {
  if (selection?.kind === 'component') return design.components.some((c) => c.id === selection.id) ? selection : null
  if (selection?.kind === 'link') return selection.index < design.links.length ? selection : null
  return null
}

/** The state after an edit: the step before goes on the history (unless it is the same gesture's). */
function edited(state: EditorState, design: Design, selection: Selection, gesture: string | null = null): EditorState {
  if (design === state.design) return selection === state.selection ? state : { ...state, selection }
  const sameGesture = gesture !== null && gesture === state.gesture
  const past = sameGesture
    ? state.past
    : [...state.past, { design: state.design, selection: state.selection }].slice(-HISTORY_LIMIT)
  return { design, selection: kept(design, selection), past, future: [], gesture }
}

export function reduce(state: EditorState, action: Action, catalogue: Catalogue): EditorState {
  const { design, selection } = state
  switch (action.type) {
    case 'load':
      return initialState(action.design)
    case 'select':
      return { ...state, selection: kept(design, action.selection), gesture: null }
    case 'add': {
      const added = addComponent(design, catalogue, action.componentType)
      return edited(state, added.design, { kind: 'component', id: added.id })
    }
    case 'connect': {
      const next = connect(design, catalogue, action.from, action.to)
      return edited(state, next, next === design ? selection : { kind: 'link', index: design.links.length })
    }
    case 'move':
      return edited(state, move(design, action.id, action.x, action.y), selection, action.gesture ?? null)
    case 'delete':
      if (selection?.kind === 'component') return edited(state, deleteComponent(design, catalogue, selection.id), null)
      if (selection?.kind === 'link') return edited(state, deleteLink(design, catalogue, selection.index), null)
      return state
    case 'rename': {
      const next = rename(design, action.id, action.newId)
      return edited(state, next, next === design ? selection : { kind: 'component', id: action.newId })
    }
    case 'setField':
      return edited(state, setField(design, catalogue, action.id, action.patch), selection)
    case 'setLinkField':
      return edited(state, setLinkField(design, action.index, action.patch), selection)
    case 'merge':
      return edited(state, action.design, selection)
    case 'tidy':
      return edited(state, tidyUp(design, catalogue), selection)
    case 'apply': {
      let next: Design
      try {
        next = applyPatch(design, action.patch)
      } catch {
        return state
      }
      return edited(state, placed(design, next), selection)
    }
    case 'undo': {
      const before = state.past.at(-1)
      if (!before) return state
      return {
        ...before,
        past: state.past.slice(0, -1),
        future: [...state.future, { design, selection }],
        gesture: null
      }
    }
    case 'redo': {
      const after = state.future.at(-1)
      if (!after) return state
      return {
        ...after,
        past: [...state.past, { design, selection }],
        future: state.future.slice(0, -1),
        gesture: null
      }
    }
  }
}

export interface Store {
  getState(): EditorState
  dispatch(action: Action): void
  undo(): void
  redo(): void
  readonly canUndo: boolean
  readonly canRedo: boolean
  /** Called after each action that changed the state, with it; returns the unsubscribe. */
  subscribe(listener: (state: EditorState, action: Action) => void): () => void
}

/** The editor's store, reading designs with `catalogue`. */
export function createStore(catalogue: Catalogue, design: Design = EMPTY_DESIGN): Store {
  let state = initialState(design)
  const listeners = new Set<(state: EditorState, action: Action) => void>()
  const dispatch = (action: Action) => {
    const next = reduce(state, action, catalogue)
    if (next === state) return
    state = next
    for (const listener of listeners) listener(state, action)
  }
  return {
    getState: () => state,
    dispatch,
    undo: () => dispatch({ type: 'undo' }),
    redo: () => dispatch({ type: 'redo' }),
    get canUndo() {
      return state.past.length > 0
    },
    get canRedo() {
      return state.future.length > 0
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}
