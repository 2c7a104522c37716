// What-if: the design and traffic as they would be at another load or with something lost, for a
// preview only. Nothing here touches the store: the saved design, its runs and its grade stay as
// they are. Pure, so test/web/what-if.test.ts checks it without a page.

import type { TrafficProfile } from '../../src/domain/schemas.ts'
import { instancesLeft } from '../../src/domain/zones.ts'
import type { Component, Design } from './design.ts'

export type Failure =
  | { kind: 'instance'; component: string }
  | { kind: 'primary'; component: string }
  | { kind: 'zone'; zone: string }

export interface WhatIf {
  /** Times the profile's peak (1: as it is). */
  multiplier: number
  failures: Failure[]
}

export const NO_WHAT_IF: WhatIf = { multiplier: 1, failures: [] }
export const isActive = (w: WhatIf): boolean => w.multiplier !== 1 || w.failures.length > 0

/** The zones the design's components are spread over. */
export const zonesOf = (design: Design): string[] =>
  [...new Set(design.components.flatMap((c) => c.zones ?? []))].sort()

/**
 * What a click on a component loses: a database with one instance and replicas its primary (a
 * replica takes over), anything else one instance.
 */
export function failureFor(c: Component): Failure {
  return c.type === 'database' && (c.instances ?? 1) === 1 && (c.replicas ?? 0) > 0
    ? { kind: 'primary', component: c.id }
    : { kind: 'instance', component: c.id }
}

export const describeFailure = (f: Failure): string =>
  f.kind === 'zone'
    ? `zone ${f.zone} lost`
    : f.kind === 'primary'
      ? `${f.component}’s primary lost`
      : `${f.component} lost an instance`

/**
 * The design and traffic of a what-if, and the components left with nothing (down: they stay in
 * the design as they were, and the preview, told of them, fails the requests that meet them).
 */
export function applyWhatIf(
  design: Design,
  traffic: TrafficProfile,
  whatIf: WhatIf
): { design: Design; traffic: TrafficProfile; down: string[] } {
  const down = new Set<string>()
  const components = design.components.map((c) => {
    let x = c
    for (const f of whatIf.failures) {
      if (f.kind === 'primary' && f.component === c.id) x = { ...x, replicas: Math.max(0, (x.replicas ?? 0) - 1) }
      else if (f.kind === 'instance' && f.component === c.id) {
        if ((x.instances ?? 1) <= 1) down.add(c.id)
        else x = { ...x, instances: (x.instances ?? 1) - 1 }
      } else if (f.kind === 'zone' && c.zones?.includes(f.zone)) {
        // Instances are placed round robin over the component's zones (as the run's analysis places them).
        const left = instancesLeft(c, f.zone)
        if (left === 0) down.add(c.id)
        x = { ...x, instances: Math.max(1, Math.min(x.instances ?? 1, left)) }
      }
    }
    return x
  })
  return {
    design: { ...design, components },
    traffic: { ...traffic, peakRps: Math.round(traffic.peakRps * whatIf.multiplier * 1000) / 1000 },
    down: [...down]
  }
}
