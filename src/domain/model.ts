// The design document and traffic profile: plain data, shared by the API, the engine and reports.
// Their shapes are the schemas' (src/domain/schemas.ts); the bounds and types, the catalogue's.
import { DEFAULT_BANDWIDTH_MBPS } from './components.ts'
import type { ComponentDocument, DesignDocument, Link, TrafficProfile } from './schemas.ts'

export {
  type Balancing,
  Balancings,
  type CallMode,
  CallModes,
  DEFAULT_BANDWIDTH_MBPS,
  LIMITS,
  type Routing,
  Routings,
  routingOf,
  type TrafficClass,
  TrafficClasses
} from './components.ts'
export type { ComponentDocument, DesignDocument, Link, Problem, TrafficProfile } from './schemas.ts'

/** A key of the catalogue the design is read with (src/domain/components.ts). */
export type ComponentType = string

type Sizing = 'instances' | 'concurrency' | 'serviceTimeMs'
/** A component of a valid design: every one but a client states its sizing (validateDesign checks it). */
export type Component = ComponentDocument & Required<Pick<ComponentDocument, Sizing>>
/** A design that passed validateDesign, as the engine reads it. */
export type Design = Omit<DesignDocument, 'components'> & { components: Component[] }

/** A link's network time per traversal (ms), or null when it states neither latency nor bandwidth. */
export function networkTimeMs(link: Link, payloadKb: number): number | null {
  if (link.latencyMs === undefined && link.bandwidthMbps === undefined) return null
  // payloadKb kilobytes are 8 × payloadKb kilobits; at B Mbit/s that is 8 × payloadKb / B milliseconds.
  return (link.latencyMs ?? 0) + (8 * payloadKb) / (link.bandwidthMbps ?? DEFAULT_BANDWIDTH_MBPS)
}

export const DEFAULT_TRAFFIC: TrafficProfile = Object.freeze({
  peakRps: 100,
  readRatio: 0.8,
  payloadKb: 4,
  latencySloMs: 300
})

/**
 * 3: a saturated station's latency is unbounded (null), not a 5 s charge; ceilings from offered load.
 * 4: exact end-to-end percentiles where every station has an exact law; M/D/c's exact mean wait.
 */
export const MODEL_VERSION = 4

/** Whether a stored result was computed by an older model (results before 3 record none). */
export const fromOlderModel = (result: object): boolean =>
  ((result as { modelVersion?: number }).modelVersion ?? 0) < MODEL_VERSION
