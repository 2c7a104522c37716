import t from 'tap'
import { CATALOGUE } from '../../src/domain/components.ts'
import { starterDesign } from '../../web/src/design.ts'
import { type Action, createStore, HISTORY_LIMIT, initialState, reduce } from '../../web/src/store.ts'

// The editor's store: actions in, design and selection out, and an undo history over both.

const run = (...actions: Action[]) =>
  actions.reduce((state, action) => reduce(state, action, CATALOGUE), initialState(starterDesign(CATALOGUE)))

t.test('an added component is selected; a link made is selected; delete removes the selection', async (t) => {
  const s = run({ type: 'add', componentType: 'service' }, { type: 'connect', from: 'users', to: 'service' })
  t.same(s.selection, { kind: 'link', index: 0 })
  t.same(s.design.links, [{ from: 'users', to: 'service' }])
  const gone = reduce(
    reduce(s, { type: 'select', selection: { kind: 'component', id: 'service' } }, CATALOGUE),
    { type: 'delete' },
    CATALOGUE
  )
  t.same(
    gone.design.components.map((c) => c.id),
    ['users']
  )
  t.same(gone.design.links, [], 'with its links')
  t.equal(gone.selection, null)
  t.same(reduce(gone, { type: 'delete' }, CATALOGUE), gone, 'nothing selected: nothing deleted')
  t.equal(
    reduce(gone, { type: 'select', selection: { kind: 'component', id: 'ghost' } }, CATALOGUE).selection,
    null,
    'what the design does not have cannot be selected'
  )
})

t.test('undo and redo step through designs and selections; a new edit drops what was undone', async (t) => {
  const store = createStore(CATALOGUE, starterDesign(CATALOGUE))
  const seen: string[] = []
  const stop = store.subscribe((_state, action) => seen.push(action.type))
  t.notOk(store.canUndo)
  store.dispatch({ type: 'add', componentType: 'service' })
  store.dispatch({ type: 'setField', id: 'service', patch: { instances: 5 } })
  store.dispatch({ type: 'rename', id: 'service', newId: 'api' })
  t.same(store.getState().selection, { kind: 'component', id: 'api' })
  store.undo()
  t.match(store.getState().design.components[1], { id: 'service', instances: 5 })
  t.same(store.getState().selection, { kind: 'component', id: 'service' }, 'the selection comes back with it')
  store.undo()
  store.undo()
  t.same(store.getState().design, starterDesign(CATALOGUE), 'back to the start')
  t.notOk(store.canUndo)
  store.undo()
  t.same(seen, ['add', 'setField', 'rename', 'undo', 'undo', 'undo'], 'an undo with nothing to undo changes nothing')
  store.redo()
  store.redo()
  t.match(store.getState().design.components[1], { id: 'service', instances: 5 })
  t.ok(store.canRedo)
  store.dispatch({ type: 'add', componentType: 'cache' })
  t.notOk(store.canRedo, 'a new edit forgets what was undone')
  stop()
  store.dispatch({ type: 'add', componentType: 'cache' })
  t.equal(seen.length, 9, 'an unsubscribed listener hears nothing')
})

t.test('one drag is one step; each arrow-key nudge is its own', async (t) => {
  let s = run({ type: 'add', componentType: 'service' })
  for (let x = 100; x <= 140; x += 10)
    s = reduce(s, { type: 'move', id: 'service', x, y: 50, gesture: 'drag-1' }, CATALOGUE)
  s = reduce(s, { type: 'move', id: 'service', x: 150, y: 50 }, CATALOGUE)
  s = reduce(s, { type: 'move', id: 'service', x: 160, y: 50 }, CATALOGUE)
  t.equal(s.past.length, 4, 'add, the drag, two nudges')
  s = reduce(reduce(s, { type: 'undo' }, CATALOGUE), { type: 'undo' }, CATALOGUE)
  t.match(s.design.components[1], { x: 140, y: 50 }, 'the nudges undone')
  s = reduce(s, { type: 'undo' }, CATALOGUE)
  t.notMatch(s.design.components[1], { x: 100 }, 'the whole drag undone at once')
})

t.test('a loaded design starts a new history; the history keeps its last steps', async (t) => {
  let s = run({ type: 'add', componentType: 'service' })
  s = reduce(s, { type: 'load', design: starterDesign(CATALOGUE) }, CATALOGUE)
  t.same(s.past, [])
  for (let i = 0; i < HISTORY_LIMIT + 20; i++) s = reduce(s, { type: 'move', id: 'users', x: i, y: 0 }, CATALOGUE)
  t.equal(s.past.length, HISTORY_LIMIT)
  t.equal(s.past[0].design.components[0].x, 19, 'the oldest steps are forgotten')
})

t.test('Tidy places every component again, as one step to undo', async (t) => {
  const messy = run(
    { type: 'add', componentType: 'service' },
    { type: 'add', componentType: 'database' },
    { type: 'connect', from: 'users', to: 'service' },
    { type: 'connect', from: 'service', to: 'database' },
    { type: 'move', id: 'database', x: 0, y: 0 }
  )
  const tidied = reduce(messy, { type: 'tidy' }, CATALOGUE)
  const at = Object.fromEntries(tidied.design.components.map((c) => [c.id, [c.x ?? 0, c.y ?? 0]]))
  t.ok(at.users[0] < at.service[0] && at.service[0] < at.database[0], 'left to right along the links')
  t.equal(at.users[1], at.database[1], 'a chain on one line')
  t.same(reduce(tidied, { type: 'undo' }, CATALOGUE).design, messy.design)
})

t.test('at least a hundred steps can be undone, and redone', async (t) => {
  let s = run({ type: 'add', componentType: 'service' })
  s = reduce(s, { type: 'load', design: starterDesign(CATALOGUE) }, CATALOGUE)
  t.ok(HISTORY_LIMIT >= 100)
  for (let i = 1; i <= 100; i++) s = reduce(s, { type: 'move', id: 'users', x: i, y: 0 }, CATALOGUE)
  for (let i = 0; i < 100; i++) s = reduce(s, { type: 'undo' }, CATALOGUE)
  t.equal(s.design.components[0].x, 40, 'back to the loaded design')
  for (let i = 0; i < 100; i++) s = reduce(s, { type: 'redo' }, CATALOGUE)
  t.equal(s.design.components[0].x, 100, 'and forward to the last edit')
})

t.test('a suggestion applied and a merge are one step each, undone at once', async (t) => {
  let s = run({ type: 'add', componentType: 'service' })
  const before = s.design
  s = reduce(
    s,
    {
      type: 'apply',
      patch: [
        { op: 'set', component: 'service', field: 'instances', value: 4 },
        { op: 'add_link', link: { from: 'users', to: 'service' } }
      ]
    },
    CATALOGUE
  )
  t.match(s.design.components[1], { instances: 4 })
  t.equal(s.design.links.length, 1)
  s = reduce(s, { type: 'undo' }, CATALOGUE)
  t.same(s.design, before, 'both changes undone by one undo')
  const unchanged = reduce(s, { type: 'apply', patch: [{ op: 'remove_link', from: 'a', to: 'b' }] }, CATALOGUE)
  t.equal(unchanged, s, 'a patch that does not fit changes nothing')
  const merged = { ...before, components: before.components.map((c) => ({ ...c, x: 500 })) }
  s = reduce(s, { type: 'merge', design: merged }, CATALOGUE)
  t.equal(s.past.length > 0, true, 'the history is kept')
  t.same(reduce(s, { type: 'undo' }, CATALOGUE).design, before, 'and the merge is one step back')
})
