// Where a component's instances run: what a lost zone leaves it. Imported by the editor's what-if
// as well as the analysis, so both place instances alike.

/**
 * The instances a component keeps when a zone is lost: they are placed round robin over its
 * zones (the analysis's zone scenarios and the editor's what-if place them so).
 */
export function instancesLeft(c: { instances?: number; zones?: string[] }, zone: string): number {
  const zones = c.zones ?? []
  const instances = c.instances ?? 1
  if (!zones.includes(zone)) return instances
  let left = 0
  for (let i = 0; i < instances; i++) if (zones[i % zones.length] !== zone) left++
  return left
}
