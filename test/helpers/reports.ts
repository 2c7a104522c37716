import type { SimulationResult } from '../../src/domain/engine.ts'
import type { Grade } from '../../src/domain/grading.ts'
import type { Design, TrafficProfile } from '../../src/domain/model.ts'
import type { ReportInput } from '../../src/domain/report.ts'

/** What renderReport takes, for a design, its profile, a run's result and (optionally) its grade. */
export function reportInput(
  name: string,
  design: Design,
  traffic: TrafficProfile,
  result: SimulationResult,
  grade: Grade | null = null
): ReportInput {
  return {
    workspace: { id: 'w', name, description: '', version: 1 },
    design,
    traffic,
    simulation: { id: 's', createdAt: '2026-12-03T00:00:00Z', result },
    grade: grade ? { id: 'g', ...grade } : null,
    generatedAt: '2026-12-03T00:00:00Z'
  }
}
