import type { JobWithMetadata } from 'pg-boss'
import type { Static } from 'typebox'
import type { Sql } from '../src/db/client.ts'
import { advise } from '../src/domain/advice.ts'
import { type Analysis, analyze } from '../src/domain/analysis.ts'
import type { SimulationResult } from '../src/domain/engine.ts'
import { RUBRIC_VERSION } from '../src/domain/grading.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import { PermanentJobError } from '../src/queue/jobs.ts'
import { Uuid } from '../src/schemas.ts'
import { defineJob, jobPayload } from './define.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'

const Payload = jobPayload({ gradeId: Uuid })
export type GradingJob = Static<typeof Payload>

export function createHandler(sql: Sql) {
  return async function grading(job: JobWithMetadata<GradingJob>): Promise<unknown> {
    const gradeId = job.data.gradeId
    const [row] = await sql<
      {
        status: string
        design: Design
        traffic: TrafficProfile
        seed: number
        result: (SimulationResult & { analysis?: Analysis }) | null
      }[]
    >`
      select g.status, s.design, s.traffic, s.seed, s.result
      from app.grade_reports g
      join app.simulation_runs s on s.id = g.simulation_id
      where g.id = ${gradeId}
    `
    if (!row || row.status === 'completed') return { gradeId, skipped: row?.status ?? 'deleted' }
    if (!row.result) throw new PermanentJobError('the simulation has no result to grade')
    // Runs stored before the analysis existed are analysed now; each suggestion is tried before it is stored.
    const analysis = row.result.analysis ?? analyze(row.design, row.traffic, row.result, row.seed)
    const { score, items } = advise(row.design, row.traffic, { ...row.result, analysis }, { seed: row.seed })
    const stored = await sql`
      update app.grade_reports
      set status = 'completed', score = ${score}, items = ${sql.json(items as never)},
        rubric_version = ${RUBRIC_VERSION}, completed_at = now()
      where id = ${gradeId}
        and status <> 'completed'
      returning id
    `
    return { gradeId, score, stored: stored.length === 1 }
  }
}

export const job = defineJob({
  name: 'grading',
  options: productQueueOptions('grading', 120),
  payload: Payload,
  create: ({ sql }) => ({
    handle: createHandler(sql),
    hooks: markFailedOnFinalFailure(sql, 'grade_reports', 'gradeId')
  })
})
