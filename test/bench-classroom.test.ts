import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { fork } from './helpers/process.ts'

// The classroom phase in smoke mode (a handful of learners, windows of a second or two): every
// action priced, the class signed in and run three times, the self-model asked. Nothing about speed.
t.test('the classroom phase runs in smoke mode: actions priced, classes run, the self-model asked', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'sdc-bench-classroom-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  const bench = fork('bench/run.ts', {}, ['--smoke', '--only', 'classroom', '--out', out])
  t.equal(await bench.exited, 0, bench.stderr.join('').slice(-2000))
  const report = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8'))
  const { classroom } = report
  for (const kind of ['signIn', 'open', 'autosave', 'preview', 'simulate', 'grade', 'export', 'listRuns']) {
    t.ok(classroom.priced[kind].count > 0, `classroom: ${kind} priced from actions that completed`)
    t.equal(classroom.priced[kind].statuses.serverError, 0, `classroom: ${kind} answered without a 5xx`)
  }
  t.ok(classroom.costs.simulate.workerMs > 0, 'a simulation’s price includes the worker’s CPU')
  // One action's Postgres share is a few clock ticks at smoke sizes: the sum over actions is not.
  const postgresMs = Object.values(classroom.costs as Record<string, { postgresMs: number }>).reduce(
    (sum, cost) => sum + cost.postgresMs,
    0
  )
  t.ok(postgresMs > 0, 'the prices include Postgres’s CPU')
  t.ok(classroom.ceilings[classroom.pricedFirst].learners > 0, 'the prices name a first ceiling')
  t.ok(classroom.classSignIn.learners > 0, 'the class beyond the calibrating one signed in')
  t.equal(classroom.classSignIn.statuses.ok, classroom.classSignIn.learners, 'every sign-in succeeded')
  t.ok(classroom.calibration.requests > 0, 'a closed-loop class measured the steady costs')
  t.ok(
    classroom.steadyCeilings[classroom.saturatesFirst].learners > 0,
    'the part that saturates first at steady load is named, with its limit'
  )
  const steadyLimit = classroom.steadyCeilings[classroom.saturatesFirst].learners
  t.equal(
    classroom.computedLearners,
    Math.max(2, Math.min(classroom.largestClass, Math.floor(steadyLimit * classroom.sustainedShare))),
    'the class computed is the steady limit times the sustained share (within the largest class the mode runs)'
  )
  // A class that misses a service level is followed by one a fifth smaller, twice at most.
  const classes = [...(classroom.runs.missed ?? []), classroom.runs.computed]
  t.equal(classes[0].learners, classroom.computedLearners, 'the computed class runs first')
  t.ok(classes.length <= 3, 'at most two smaller classes follow')
  for (let i = 1; i < classes.length; i++) {
    t.notOk(classes[i - 1].holds, `the class of ${classes[i - 1].learners} missed a level`)
    t.equal(classes[i].learners, Math.max(2, Math.floor(classes[i - 1].learners * 0.8)), 'so one a fifth smaller ran')
  }
  t.equal(classroom.sustainedLearners, classroom.runs.computed.learners, 'the class sustained is the last one run')
  t.equal(classroom.runs.over.learners, Math.ceil(classroom.runs.computed.learners * 1.5), 'and 1.5× it')
  for (const run of [classroom.runs.computed, classroom.runs.over, classroom.scaleOut]) {
    t.ok(run.requests > 0, `a class of ${run.learners} sent requests`)
    t.equal(run.statuses.limited, 0, 'learners on addresses of their own meet no per-address limit')
    t.ok(run.cpuMsPerLearnerMinute.api > 0, 'the api’s CPU per learner-minute is measured')
  }
  t.ok(
    classroom.model.one.ceilingLearners > 0 && classroom.model.one.bottleneck,
    'the self-model predicts a ceiling and a bottleneck'
  )
  t.ok(
    classroom.model.two.ceilingLearners > classroom.model.one.ceilingLearners,
    'and two processes of each carry more in the model'
  )
})
