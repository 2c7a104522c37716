import { uniform } from '../random.ts'
import { EngineBudgetError } from './budget.ts'
import { knownPaths, type PathClass } from './paths.ts'
import { compileSojourns, drawLatency, type Sojourns } from './sojourns.ts'
import type { Built } from './stations.ts'
import { samplePath, type Walker } from './walker.ts'

// The analytic mode's end-to-end latencies, sampled path by path.

/**
 * The Monte-Carlo latencies. Each kind of path gets its share of the samples (stratified, by
 * systematic allocation from a seeded offset), and each sample draws its stations' sojourns: the
 * mixture of paths is then exact and only the sojourns vary. The share of requests that saturated
 * stations shed is then exact too (each path's probability times the chance a station on it sheds
 * the request), so a single saturated station passes exactly its capacity. A design with too many
 * kinds of path draws each sample's path as well, and the shed share is the samples' estimate.
 */
export function monteCarlo(
  walker: Walker,
  built: Built,
  samples: number,
  word: () => number,
  known: Map<string, PathClass[] | null>
): { latencies: Float64Array; errorRate: number; meanMs?: number } {
  const f = compileSojourns(built.stations, built.tables)
  const latencies = new Float64Array(samples)
  let kept = 0
  let dropped = 0
  // Steps drawn here: the walker counts its own, and both count against its limit.
  let steps = 0
  const classes = knownPaths(walker, known)
  if (classes) {
    const total = classes.reduce((sum, c) => sum + c.probability, 0)
    const offset = uniform(word)
    let cumulative = 0
    let before = 0
    for (const [k, path] of classes.entries()) {
      cumulative += path.probability / total
      const upTo = k === classes.length - 1 ? samples : Math.min(samples, Math.floor(cumulative * samples + offset))
      const length = path.stations.length
      for (let i = before; i < upTo; i++) {
        const served = drawLatency(path.stations, length, f, word)
        steps += length
        if (steps + walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
        if (served) latencies[kept++] = f.drawn[0]
      }
      before = Math.max(before, upTo)
    }
    return { latencies: latencies.subarray(0, kept), ...pathFigures(classes, built, f) }
  }
  for (let i = 0; i < samples; i++) {
    // The path first: a long one replaces walker.visits with a larger buffer.
    const length = samplePath(walker, word)
    const served = drawLatency(walker.visits, length, f, word)
    steps += length + 1
    if (steps + walker.steps > walker.limit) throw new EngineBudgetError(walker.limit)
    if (served) latencies[kept++] = f.drawn[0]
    else dropped++
  }
  return { latencies: latencies.subarray(0, kept), errorRate: samples > 0 ? dropped / samples : 0 }
}

/**
 * The shed share and the mean of enumerated paths, exactly: each path's probability times the
 * chance its stations keep the request, and (by linearity) each served path's sojourn means.
 */
export function pathFigures(classes: PathClass[], built: Built, f: Sojourns): { errorRate: number; meanMs?: number } {
  const total = classes.reduce((sum, c) => sum + c.probability, 0)
  let shed = 0
  let served = 0
  let weighted = 0
  for (const path of classes) {
    let passes = 1
    let sojourns = 0
    for (const s of path.stations) {
      passes *= f.keep[s]
      sojourns += built.stations[s].meanSojournMs
    }
    shed += (path.probability / total) * (1 - passes)
    const share = (path.probability / total) * passes
    if (share > 0) {
      served += share
      weighted += share * sojourns
    }
  }
  return { errorRate: shed, ...(served > 0 ? { meanMs: weighted / served } : {}) }
}
