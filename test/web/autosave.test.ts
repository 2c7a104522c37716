// The autosaver without a page: what it sends, when, and what it says when a save is refused or the
// page goes away. Its `save` is a function the test answers, as the api would.
import t from 'tap'
import { ApiError } from '../../web/src/api-error.ts'
import { Autosaver, type SaveState } from '../../web/src/autosave.ts'

interface Sent {
  value: string
  version: number
  keepalive: boolean
  base: string | null
}

function saver(options: { fits?: boolean; answer?: (sent: Sent) => Promise<number> } = {}) {
  const sent: Sent[] = []
  const states: SaveState[] = []
  const autosaver = new Autosaver<string>(
    1,
    {
      what: 'traffic profile',
      debounceMs: 10_000,
      save: (value, version, keepalive, base) => {
        const s = { value, version, keepalive, base }
        sent.push(s)
        return options.answer ? options.answer(s) : Promise.resolve(version + 1)
      },
      fitsOnLeave: () => options.fits ?? true,
      onState: (state) => states.push(state)
    },
    'loaded'
  )
  t.teardown(() => autosaver.stop())
  return { autosaver, sent, states }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

t.test('leaving the page sends the pending change at once, in a keepalive request', async (t) => {
  const { autosaver, sent, states } = saver()
  autosaver.change('edited')
  t.equal(sent.length, 0, 'the debounce is pending')
  t.equal(autosaver.flushOnLeave(), true, 'nothing will be lost: no prompt')
  t.same(sent, [{ value: 'edited', version: 1, keepalive: true, base: 'loaded' }], 'with what the version holds')
  t.equal(autosaver.flushOnLeave(), true, 'a keepalive save in flight needs no prompt either')
  await settle()
  t.equal(states.at(-1)?.kind, 'saved', 'and if the page stays, its answer is read as usual')
  t.equal(autosaver.currentVersion, 2)
  autosaver.change('edited again')
  autosaver.flushOnLeave()
  t.same(
    sent.at(-1),
    { value: 'edited again', version: 2, keepalive: true, base: 'edited' },
    'the base moves with each save'
  )
})

t.test('a change too large for a keepalive body leaves the prompt to ask', async (t) => {
  const { autosaver, sent } = saver({ fits: false })
  autosaver.change('a very large design')
  t.equal(autosaver.flushOnLeave(), false, 'the leave-page prompt asks')
  t.equal(sent.length, 0, 'nothing sent that the browser would refuse')
  t.equal(autosaver.hasUnsaved, true)
})

t.test('an ordinary save in flight leaves the prompt to ask; nothing pending asks nothing', async (t) => {
  let answer: (version: number) => void = () => {}
  const { autosaver, sent } = saver({ answer: () => new Promise((resolve) => (answer = resolve)) })
  t.equal(autosaver.flushOnLeave(), true, 'nothing to save')
  autosaver.change('one')
  autosaver.flush()
  await settle()
  t.equal(sent.length, 1)
  t.equal(autosaver.flushOnLeave(), false, 'a page going away would cancel it')
  answer(2)
  await settle()
  t.equal(autosaver.flushOnLeave(), true)
})

t.test('a refusal names what failed to save, with the api’s words', async (t) => {
  const refusal = new ApiError(400, 'APP_ERR_VALIDATION', 'body/peakRps must be <= 1000000', {
    problems: [{ path: '/peakRps', message: 'Peak traffic must be between 0.001 and 1 000 000 requests a second' }]
  })
  const { autosaver, states } = saver({ answer: () => Promise.reject(refusal) })
  autosaver.change('5e9')
  const waiting = autosaver.whenSaved()
  await t.rejects(waiting, {
    message: 'The traffic profile is not saved: Peak traffic must be between 0.001 and 1 000 000 requests a second'
  })
  t.match(states.at(-1), { kind: 'invalid', problems: [{ path: '/peakRps' }] }, 'a 400 with problems is invalid')
  t.equal(autosaver.hasUnsaved, true, 'the value waits for the next edit')
})
