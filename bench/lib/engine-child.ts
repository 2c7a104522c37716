// The engine phase's timings in a process of its own (pinned by the parent with taskset): the
// figures go back over IPC, then the process exits.
import { engineTimings } from '../phases/engine.ts'

if (!process.send) throw new Error('engine-child.ts is started by the engine phase, with an IPC channel')
process.send(engineTimings(process.env.BENCH_ENGINE_SMOKE === '1'), () => process.exit(0))
