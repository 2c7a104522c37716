// Results that know their age (issue 38): a run keeps the design and traffic profile it ran with
// (its snapshot) and the model version that computed it; a grade, its rubric version. When any of
// them differs from what is current, the run (and a grade of it) is stale, and says what changed.
import { RUBRIC_VERSION } from './grading.ts'
import { type DesignDocument, fromOlderModel, type TrafficProfile } from './model.ts'

import { STALE_CAUSES } from './resources.ts'

export { STALE_CAUSES }
export type StaleCause = (typeof STALE_CAUSES)[number]

/** What the model reads of a design: where a component is drawn, and its display name, change nothing. */
function modelled(design: DesignDocument): string {
  return JSON.stringify({
    components: design.components.map(({ x: _x, y: _y, name: _name, ...rest }) => sorted(rest)),
    links: design.links.map((l) => sorted(l))
  })
}

const sorted = (o: object) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))

/** A profile's fields, a null budget or target the same as an absent one. */
function profile(t: TrafficProfile): string {
  return JSON.stringify(sorted(Object.fromEntries(Object.entries(t).filter(([, v]) => v !== null && v !== undefined))))
}

export interface Staleness {
  stale: boolean
  staleBecause: StaleCause[]
}

/**
 * How a run (and, given its rubric version, a grade of it) compares with the workspace now: the
 * design the model reads, the traffic profile, the model that computed the result, the rubric.
 */
export function staleness(
  run: { design: DesignDocument; traffic: TrafficProfile; result: object | null },
  current: { design: DesignDocument; traffic: TrafficProfile },
  rubricVersion?: number | null
): Staleness {
  const because: StaleCause[] = []
  if (modelled(run.design) !== modelled(current.design)) because.push('design')
  if (profile(run.traffic) !== profile(current.traffic)) because.push('traffic')
  if (run.result && fromOlderModel(run.result)) because.push('model')
  if (rubricVersion !== undefined && (rubricVersion ?? 0) < RUBRIC_VERSION) because.push('rubric')
  return { stale: because.length > 0, staleBecause: because }
}
