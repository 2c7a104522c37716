import type { JobWithMetadata } from 'pg-boss'
import type { Sql } from '../src/db/client.ts'
import { withContext } from '../src/db/context.ts'
import { explainComponent } from '../src/domain/explain.ts'
import type { GradeItem } from '../src/domain/grading.ts'
import type { Design, TrafficProfile } from '../src/domain/model.ts'
import { renderReport, reportFilename } from '../src/domain/report.ts'
import { completeExport, exportToRender, failExport } from '../src/exports/store.ts'
import { ExportJob, type JobData, jobContext } from '../src/queue/messages.ts'
import { latestCompletedRun } from '../src/runs/runs.ts'
import { defineJob } from './define.ts'
import { markFailedOnFinalFailure, productQueueOptions } from './product-queue.ts'

export function createHandler(sql: Sql) {
  return async function exportReport(job: JobWithMetadata<JobData<typeof ExportJob>>): Promise<unknown> {
    const exportId = job.data.exportId
    // The workspace and its runs are read under the job's owner's context (row-level security).
    const context = jobContext(job.data)
    const row = await withContext(sql, context, (tx) => exportToRender(tx, exportId))
    if (!row || row.status === 'completed') return { exportId, skipped: row?.status ?? 'deleted' }
    // The latest completed run of the workspace and, if it was graded, its latest grade.
    const sim = await withContext(sql, context, (tx) => latestCompletedRun(tx, row.workspace_id))
    const report = renderReport(row.format, {
      workspace: { id: row.workspace_id, name: row.name, description: row.description, version: row.version },
      design: row.design,
      traffic: {
        peakRps: row.peak_rps,
        readRatio: row.read_ratio,
        payloadKb: row.payload_kb,
        latencySloMs: row.latency_slo_ms
      },
      simulation: sim ? { id: sim.id, createdAt: sim.created_at.toISOString(), result: sim.result } : null,
      grade: sim?.grade_id
        ? { id: sim.grade_id, score: sim.grade_score as number, items: sim.grade_items as GradeItem[] }
        : null,
      generatedAt: new Date().toISOString(),
      // The HTML's appendix: each component's working, recomputed from the run (as it ran).
      ...(row.format === 'html' && sim ? { derivations: derivationsOf(sim.design, sim.traffic, sim.seed) } : {})
    })
    const stored = await completeExport(sql, exportId, {
      content: report.content,
      contentType: report.contentType,
      filename: reportFilename(row.name, report.extension)
    })
    return { exportId, bytes: Buffer.byteLength(report.content), stored }
  }
}

export const job = defineJob({
  message: ExportJob,
  options: productQueueOptions('export', 120),
  create: ({ sql }) => ({
    handle: createHandler(sql),
    hooks: markFailedOnFinalFailure(sql, failExport, 'exportId')
  })
})

/** Each component's derivation, for the HTML's appendix; none when the run cannot be recomputed within the budget. */
function derivationsOf(design: Design, traffic: TrafficProfile, seed: number) {
  try {
    return design.components.flatMap((c) => explainComponent(design, traffic, seed, c.id) ?? [])
  } catch {
    return []
  }
}
