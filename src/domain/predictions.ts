// Predict, then simulate (issue 38): a learner's predictions scored against the run. The p95 at
// peak counts within ±25 %, the maximum sustainable throughput within ±20 %, the bottleneck when
// it names the bottleneck or one of its identical group (docs/simulation.md).

import { CATALOGUE, type Catalogue } from './components.ts'
import { propagate } from './engine.ts'
import { groupOf } from './groups.ts'
import type { Design, TrafficProfile } from './model.ts'
import type { PredictionScores, Predictions } from './resources.ts'
import type { SimulationResult } from './schemas.ts'

export type { PredictionScores, Predictions } from './resources.ts'

export const P95_TOLERANCE = 0.25
export const THROUGHPUT_TOLERANCE = 0.2

const relative = (predicted: number, actual: number) => Math.round(((predicted - actual) / actual) * 1000) / 1000

/** Scores each prediction made; null when none was. */
export function scorePredictions(
  predictions: Predictions | null | undefined,
  design: Design,
  traffic: TrafficProfile,
  result: Pick<SimulationResult, 'overall'>,
  catalogue: Catalogue = CATALOGUE
): PredictionScores | null {
  if (!predictions) return null
  const o = result.overall
  const out: Omit<PredictionScores, 'score'> = {}
  if (predictions.p95Ms !== undefined) {
    const actual = o.p95
    out.p95Ms = {
      predicted: predictions.p95Ms,
      actual,
      correct: actual !== null && actual > 0 && Math.abs(predictions.p95Ms - actual) <= P95_TOLERANCE * actual,
      error: actual === null || actual <= 0 ? null : relative(predictions.p95Ms, actual)
    }
  }
  if (predictions.maxSustainableRps !== undefined) {
    const actual = o.maxSustainableRps
    out.maxSustainableRps = {
      predicted: predictions.maxSustainableRps,
      actual,
      correct: actual > 0 && Math.abs(predictions.maxSustainableRps - actual) <= THROUGHPUT_TOLERANCE * actual,
      error: actual > 0 ? relative(predictions.maxSustainableRps, actual) : null
    }
  }
  if (predictions.bottleneck !== undefined) {
    const actual = o.bottleneck
    const group =
      actual === null ? [] : groupOf(design, propagate(design, traffic, undefined, undefined, catalogue), actual)
    out.bottleneck = {
      predicted: predictions.bottleneck,
      actual,
      correct: group.includes(predictions.bottleneck),
      error: null
    }
  }
  const made = Object.values(out)
  if (made.length === 0) return null
  return { ...out, score: Math.round((100 * made.filter((p) => p.correct).length) / made.length) }
}
