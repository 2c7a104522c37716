import type { JobDefinition } from '../src/queue/jobs.ts'
import type { WorkerDeps } from './define.ts'
import * as email from './email.ts'
import * as exporter from './export.ts'
import * as grading from './grading.ts'
import * as maintenance from './maintenance.ts'
import * as simulation from './simulation.ts'

/**
 * Every queue this app uses, once: the api creates them all (so a send never hits a missing
 * queue) and the admin API lists their jobs; the worker works those it is given.
 */
export const JOBS: readonly JobDefinition<WorkerDeps>[] = [
  simulation.job,
  grading.job,
  exporter.job,
  email.job,
  maintenance.job
]
