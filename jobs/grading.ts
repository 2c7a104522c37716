import type { JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import type { SimulationResult } from '../src/domain/engine.ts'
import { grade } from '../src/domain/grading.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import { uuidField } from './payload.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'
import type { QueueDefinition } from './queues.ts'
import { PermanentJobError, type TelemetryHooks, type Traced } from './telemetry.ts'

export const queue: QueueDefinition = {
  name: 'grading',
  options: productQueueOptions('grading', 120)
}

export type GradingJob = { gradeId: string } & Traced

export function createHandler(sql: Sql) {
  return async function grading(job: JobWithMetadata<GradingJob>): Promise<unknown> {
    const gradeId = uuidField(job.data, 'gradeId')
    const [row] = await sql<
      { status: string; design: Design; traffic: TrafficProfile; result: SimulationResult | null }[]
    >`
      select g.status, s.design, s.traffic, s.result
      from app.grade_reports g
      join app.simulation_runs s on s.id = g.simulation_id
      where g.id = ${gradeId}
    `
    if (!row || row.status === 'completed') return { gradeId, skipped: row?.status ?? 'deleted' }
    if (!row.result) throw new PermanentJobError('the simulation has no result to grade')
    const { score, items } = grade(row.design, row.traffic, row.result)
    const stored = await sql`
      update app.grade_reports
      set status = 'completed', score = ${score}, items = ${sql.json(items as never)}, completed_at = now()
      where id = ${gradeId}
        and status <> 'completed'
      returning id
    `
    return { gradeId, score, stored: stored.length === 1 }
  }
}

export function hooks(sql: Sql): TelemetryHooks<GradingJob> {
  return markFailedOnFinalFailure(sql, 'grade_reports', 'gradeId')
}
