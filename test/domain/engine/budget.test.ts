import t from 'tap'
import { EngineBudgetError } from '../../../src/domain/engine/budget.ts'
import { requestPaths } from '../../../src/domain/engine/paths.ts'
import { simulate } from '../../../src/domain/engine/result.ts'
import type { TrafficProfile } from '../../../src/domain/model.ts'
import { deepChain, fanOutBomb, timeoutBomb } from '../../helpers/pathological.ts'

// The engine's own bounds, for a design validation would refuse: the step budget, and path
// enumeration that neither recurses nor lists without limit.

const tiny: TrafficProfile = { peakRps: 0.001, readRatio: 0.8, payloadKb: 4, latencySloMs: 300 }

t.test(
  'path enumeration is iterative: deep and wide designs neither overflow the stack nor run unbounded',
  async (t) => {
    t.doesNotThrow(() => requestPaths(deepChain(), tiny), 'a 500-deep chain')
    t.equal(requestPaths(fanOutBomb(5, 10, 0), tiny), null, 'a deep fan-out overflows the listing and is drawn instead')
    t.equal(requestPaths(deepChain(), tiny)?.length, 1, 'reads and writes of the chain take one kind of path')
  }
)

t.test('a run past the step budget stops with EngineBudgetError (the job fails, not retried)', async (t) => {
  t.throws(() => simulate(fanOutBomb(12, 4), tiny), EngineBudgetError)
})

t.test('the step budget counts the traversals drawn below timeouts', async (t) => {
  // Validation would refuse it; the engine's own budget stops it all the same, and fast.
  t.throws(() => simulate(timeoutBomb(14), tiny, { maxSteps: 200_000 }), { name: 'EngineBudgetError', limit: 200_000 })
  const options = { seed: 1, samples: 2000, timeoutSamples: { pass: 400, final: 800 } }
  t.throws(() => simulate(timeoutBomb(7), tiny, { ...options, maxSteps: 10_000 }), EngineBudgetError)
  t.ok(simulate(timeoutBomb(7), tiny, options).overall, 'within the default budget it runs')
})
