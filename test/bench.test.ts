import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { fork } from '../reliability/lib/process.ts'

t.test('the benchmarks run end to end in smoke mode and save their JSON', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'sdc-bench-out-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  const bench = fork('bench/run.ts', {}, ['--smoke', '--out', out])
  t.equal(await bench.exited, 0, bench.stderr.join('').slice(-2000))
  const report = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8'))
  for (const key of ['overhead', 'criticalPaths', 'enqueue', 'audit', 'telemetry', 'queue', 'engine'])
    t.ok(report[key], key)
  t.ok(report.overhead.ratio > 0, 'figures are measured, not asserted')
  t.ok(report.audit.select1Ratio > 0, 'the audited write is set beside one trivial extra statement')
})
