import type { JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { withContext } from '../src/db/context.ts'
import { advise } from '../src/domain/advice.ts'
import { analyze } from '../src/domain/analysis.ts'
import { RUBRIC_VERSION } from '../src/domain/grading.ts'
import { assignedRequirements } from '../src/exercises/assigned.ts'
import { exercises } from '../src/exercises/index.ts'
import { PermanentJobError } from '../src/queue/jobs.ts'
import { GradingJob, type JobData, jobContext } from '../src/queue/messages.ts'
import { completeGrade, failGrade } from '../src/runs/grades.ts'
import { runOfGrade } from '../src/runs/runs.ts'
import { defineJob } from './define.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'

export function createHandler(sql: Sql) {
  return async function grading(job: JobWithMetadata<JobData<typeof GradingJob>>): Promise<unknown> {
    const gradeId = job.data.gradeId
    // Under the job's owner's context (SET LOCAL): the policies show it only its owner's grade and run.
    const context = jobContext(job.data)
    const row = await withContext(sql, context, (tx) => runOfGrade(tx, gradeId))
    if (!row || row.status === 'completed') return { gradeId, skipped: row?.status ?? 'deleted' }
    if (!row.result) throw new PermanentJobError('the simulation has no result to grade')
    // Runs stored before the analysis existed are analysed now; each suggestion is tried before it is stored.
    const analysis = row.result.analysis ?? analyze(row.design, row.traffic, row.result, row.seed)
    // An attempt is held to its exercise's checks first (and no suggestion may fail one that passed);
    // the hints it took cost their points.
    const exercise = row.exercise_slug === null ? undefined : exercises().bySlug.get(row.exercise_slug)
    // An assignment's attempt is held to the assignment's numbers (its scale), read as the attempt's owner.
    const requirements = exercise
      ? ((await assignedRequirements(sql, row.owner_id, row.workspace_id)) ?? exercise.requirements)
      : undefined
    const rubric = advise(row.design, row.traffic, { ...row.result, analysis }, { seed: row.seed, requirements })
    const checks = exercise ? rubric.checks : null
    const hintPoints = row.exercise_slug === null ? null : (row.hint_points ?? 0)
    const score = Math.max(0, rubric.score - (hintPoints ?? 0))
    const stored = await withContext(sql, context, (tx) =>
      completeGrade(tx, gradeId, {
        score,
        items: rubric.items,
        checks,
        hintPoints,
        rubricVersion: RUBRIC_VERSION
      })
    )
    return { gradeId, score, stored }
  }
}

export const job = defineJob({
  message: GradingJob,
  options: productQueueOptions('grading', 120),
  create: ({ sql }) => ({
    handle: createHandler(sql),
    hooks: markFailedOnFinalFailure(sql, failGrade, 'gradeId')
  })
})
