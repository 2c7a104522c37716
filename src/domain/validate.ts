import {
  Balancings,
  boundsText,
  CATALOGUE,
  CallModes,
  type Catalogue,
  COMPONENT_FIELDS,
  type ComponentField,
  hasTrait,
  ID_PATTERN,
  kindOf,
  LIMITS,
  type NumberField,
  Routings,
  routingOf,
  TrafficClasses,
  typesWith,
  withinBounds
} from './components.ts'
import { DivergentDesignError, visitsPerRequest, workPerRequest } from './flows.ts'
import type { Design, Problem } from './model.ts'

const ID = new RegExp(ID_PATTERN)

/** "a", "a or b", "a, b or c". */
const either = (words: string[]) =>
  words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`

/**
 * Every problem of a design, each with a JSON path; an empty list means it can be simulated. Its
 * types, the fields each has and their bounds are the catalogue's.
 */
export function validateDesign(design: Design, catalogue: Catalogue = CATALOGUE): Problem[] {
  const problems: Problem[] = []
  const ids = new Map<string, number>()
  if (design.components.length > LIMITS.components) {
    problems.push({ path: '/components', message: `at most ${LIMITS.components} components` })
  }
  if (design.links.length > LIMITS.links) problems.push({ path: '/links', message: `at most ${LIMITS.links} links` })
  if (design.links.filter((l) => l.timeoutMs !== undefined).length > LIMITS.timeoutLinks)
    problems.push({ path: '/links', message: `at most ${LIMITS.timeoutLinks} links with a timeout` })

  design.components.forEach((c, i) => {
    const at = `/components/${i}`
    if (!ID.test(c.id) || c.id.length > LIMITS.idLength) {
      problems.push({
        path: `${at}/id`,
        message: `must be 1–${LIMITS.idLength} of a-z, 0-9, _ and -, starting with a letter or digit`
      })
    }
    if (ids.has(c.id))
      problems.push({ path: `${at}/id`, message: `duplicate id "${c.id}" (also /components/${ids.get(c.id)})` })
    else ids.set(c.id, i)
    if (kindOf(catalogue, c.type) === undefined) {
      problems.push({
        path: `${at}/type`,
        message: `unknown component type; one of ${Object.keys(catalogue).join(', ')}`
      })
    }
    // A client only sends traffic: it needs none of these, and they are checked only when given.
    const client = hasTrait(catalogue, c.type, 'source')
    /** A numeric field: required of all but a client, kept to its type's trait, within its bounds. */
    const check = (key: ComponentField) => {
      const field: NumberField = COMPONENT_FIELDS[key]
      const value = c[key]
      if (value === undefined) {
        if (field.required && !client)
          problems.push({ path: `${at}/${key}`, message: `is required (of every component but a client)` })
        return
      }
      if (field.trait && !hasTrait(catalogue, c.type, field.trait)) {
        const owners = typesWith(catalogue, field.trait).sort()
        problems.push({ path: `${at}/${key}`, message: `only a ${either(owners)} has ${field.noun ?? key}` })
      } else if (!withinBounds(field, value))
        problems.push({ path: `${at}/${key}`, message: `must be ${boundsText(field)}` })
    }
    for (const key of ['instances', 'concurrency', 'serviceTimeMs', 'availability', 'costPerMonth'] as const) check(key)
    if (
      c.zones !== undefined &&
      !(
        Array.isArray(c.zones) &&
        c.zones.length >= 1 &&
        c.zones.length <= LIMITS.zones &&
        c.zones.every((z) => typeof z === 'string' && ID.test(z)) &&
        new Set(c.zones).size === c.zones.length
      )
    )
      problems.push({ path: `${at}/zones`, message: `1 to ${LIMITS.zones} distinct zone names (a-z, 0-9, _ and -)` })
    if (c.delay !== undefined && client)
      problems.push({ path: `${at}/delay`, message: 'a client sends traffic; it cannot be a delay' })
    check('hitRatio')
    check('replicas')
  })

  design.components.forEach((c, i) => {
    const at = `/components/${i}`
    if (c.routing !== undefined && !(Routings as readonly string[]).includes(c.routing))
      problems.push({ path: `${at}/routing`, message: `one of ${Routings.join(', ')}` })
    if (c.calls !== undefined && !(CallModes as readonly string[]).includes(c.calls))
      problems.push({ path: `${at}/calls`, message: `one of ${CallModes.join(', ')}` })
    if (c.balancing !== undefined && !(Balancings as readonly string[]).includes(c.balancing))
      problems.push({ path: `${at}/balancing`, message: `one of ${Balancings.join(', ')}` })
    for (const key of ['serviceTimeCv', 'queueLimit'] as const) {
      const value = c[key]
      if (value !== undefined && !withinBounds(COMPONENT_FIELDS[key], value))
        problems.push({ path: `${at}/${key}`, message: `must be ${boundsText(COMPONENT_FIELDS[key])}` })
    }
    for (const axis of ['x', 'y'] as const) {
      const value = c[axis]
      if (value !== undefined && !(Math.abs(value) <= LIMITS.canvas))
        problems.push({ path: `${at}/${axis}`, message: `must be from -${LIMITS.canvas} to ${LIMITS.canvas}` })
    }
  })
  problems.push(...splitProblems(design, catalogue))

  const clients = design.components.filter((c) => hasTrait(catalogue, c.type, 'source'))
  if (clients.length === 0)
    problems.push({ path: '/components', message: 'needs at least one client (the traffic source)' })

  const seen = new Set<string>()
  design.links.forEach((l, i) => {
    const at = `/links/${i}`
    if (!ids.has(l.from)) problems.push({ path: `${at}/from`, message: `links from unknown component "${l.from}"` })
    if (!ids.has(l.to)) problems.push({ path: `${at}/to`, message: `links to unknown component "${l.to}"` })
    if (l.from === l.to) problems.push({ path: at, message: 'a component cannot link to itself' })
    if (l.share !== undefined && !(l.share > 0 && l.share <= 1))
      problems.push({ path: `${at}/share`, message: 'must be greater than 0 and at most 1' })
    if (l.latencyMs !== undefined && !(l.latencyMs >= 0 && l.latencyMs <= LIMITS.linkLatencyMs))
      problems.push({ path: `${at}/latencyMs`, message: `must be from 0 to ${LIMITS.linkLatencyMs} ms` })
    if (l.timeoutMs !== undefined && !(l.timeoutMs > 0 && l.timeoutMs <= LIMITS.timeoutMs))
      problems.push({
        path: `${at}/timeoutMs`,
        message: `must be a finite number above 0, at most ${LIMITS.timeoutMs} ms`
      })
    if (l.retries !== undefined) {
      if (!(Number.isInteger(l.retries) && l.retries >= 0 && l.retries <= LIMITS.retries))
        problems.push({ path: `${at}/retries`, message: `must be an integer from 0 to ${LIMITS.retries}` })
      else if (l.timeoutMs === undefined)
        problems.push({ path: `${at}/retries`, message: 'retries need a timeoutMs (a retry follows a timeout)' })
    }
    const bw = LIMITS.bandwidthMbps
    if (l.bandwidthMbps !== undefined && !(l.bandwidthMbps >= bw.min && l.bandwidthMbps <= bw.max))
      problems.push({ path: `${at}/bandwidthMbps`, message: `must be from ${bw.min} to ${bw.max} Mbps` })
    if (l.traffic !== undefined && !(TrafficClasses as readonly string[]).includes(l.traffic)) {
      problems.push({ path: `${at}/traffic`, message: `one of ${TrafficClasses.join(', ')}` })
    }
    const key = `${l.from}->${l.to}:${l.traffic ?? 'both'}`
    if (seen.has(key)) problems.push({ path: at, message: `duplicate link ${l.from} → ${l.to}` })
    seen.add(key)
    const target = design.components[ids.get(l.to) ?? -1]
    if (target && hasTrait(catalogue, target.type, 'source'))
      problems.push({ path: `${at}/to`, message: 'a client only sends traffic; nothing links to it' })
  })

  if (problems.length === 0) problems.push(...cycleProblems(design))
  if (problems.length === 0) problems.push(...workProblems(design, catalogue))
  return problems
}

/**
 * The work a design asks of the engine, which does not depend on the load: the traffic equations
 * solved once (linear in the links for acyclic designs), then visits and sampler steps per request
 * against their limits, so neither validation nor a run can be made to take unbounded time.
 */
function workProblems(design: Design, catalogue: Catalogue): Problem[] {
  let visits: ReturnType<typeof visitsPerRequest>
  try {
    visits = visitsPerRequest(design, undefined, undefined, undefined, catalogue)
  } catch (err) {
    if (!(err instanceof DivergentDesignError)) throw err
    return [{ path: '/links', message: err.message }]
  }
  const cost = workPerRequest(design, visits, catalogue)
  if (!(cost.visits <= LIMITS.visitsPerRequest)) {
    return [
      {
        path: '/links',
        message: `a request would visit ${formatCount(cost.visits)} stations on average; the limit is ${LIMITS.visitsPerRequest} (fan-out multiplies along the links)`
      }
    ]
  }
  if (!(cost.work <= LIMITS.workPerRequest)) {
    return [
      {
        path: '/links',
        message: `a request would take ${formatCount(cost.work)} simulation steps on average; the limit is ${LIMITS.workPerRequest}`
      }
    ]
  }
  return timeoutWorkProblems(design, catalogue)
}

/**
 * A link with a timeout is sampled on its own (a request entering its `to`, thousands of times a
 * run), however rarely it is taken: the work below it is bounded on its own terms, not scaled by
 * its share, and so is the sum over the links of that work times each one's attempts.
 */
function timeoutWorkProblems(design: Design, catalogue: Catalogue): Problem[] {
  let total = 0
  for (const [j, l] of design.links.entries()) {
    if (l.timeoutMs === undefined) continue
    const below = workPerRequest(
      design,
      visitsPerRequest(design, undefined, undefined, l.to, catalogue),
      catalogue
    ).work
    const name = `${l.from} → ${l.to}`
    if (!(below <= LIMITS.workPerRequest))
      return [
        {
          path: `/links/${j}`,
          message: `a request through the link ${name} (its timeout is sampled however rarely it is taken) would take ${formatCount(below)} simulation steps; the limit is ${LIMITS.workPerRequest}`
        }
      ]
    total += below * (1 + (l.retries ?? 0))
    if (!(total <= LIMITS.timeoutWork))
      return [
        {
          path: `/links/${j}`,
          message: `the links with a timeout, up to ${name}, take ${formatCount(total)} simulation steps a traversal with their retries; the limit for all of them is ${LIMITS.timeoutWork}`
        }
      ]
  }
  return []
}

/**
 * A component that splits sends each request down exactly one of its links: for each class
 * (read, write) its links carry, their shares must add up to 1.
 */
function splitProblems(design: Design, catalogue: Catalogue): Problem[] {
  const problems: Problem[] = []
  design.components.forEach((c, i) => {
    if (routingOf(c, catalogue) !== 'split') return
    const out = design.links.filter((l) => l.from === c.id)
    for (const cls of ['read', 'write'] as const) {
      const carrying = out.filter((l) => (l.traffic ?? 'both') === 'both' || l.traffic === cls)
      if (carrying.length === 0) continue
      const sum = carrying.reduce((total, l) => total + (l.share ?? 1), 0)
      if (Math.abs(sum - 1) > 1e-9) {
        problems.push({
          path: `/components/${i}`,
          message: `${c.id} splits its ${cls}s over its links (routing "split"${c.routing ? '' : `, the default for a ${c.type}`}), so their shares must add up to 1; they add up to ${Number(sum.toFixed(6))} (or set "routing": "calls")`
        })
        return
      }
    }
  })
  return problems
}

const formatCount = (x: number) =>
  Number.isFinite(x) ? (x < 1e6 ? x.toFixed(0) : x.toExponential(2)) : 'unboundedly many'

/**
 * A cycle is allowed only while requests can leave it: a strongly connected group with no
 * link out of it, or whose loop passes on everything it receives, would keep traffic forever.
 */
function cycleProblems(design: Design): Problem[] {
  const out = new Map<string, { to: string; share: number }[]>()
  for (const c of design.components) out.set(c.id, [])
  for (const l of design.links) out.get(l.from)?.push({ to: l.to, share: l.share ?? 1 })

  // Tarjan's strongly connected components, iteratively.
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const groups: string[][] = []
  for (const start of out.keys()) {
    if (idx.has(start)) continue
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }]
    idx.set(start, index)
    low.set(start, index++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const frame = work[work.length - 1]
      const edges = out.get(frame.node) ?? []
      if (frame.edge < edges.length) {
        const next = edges[frame.edge++].to
        if (!idx.has(next)) {
          idx.set(next, index)
          low.set(next, index++)
          stack.push(next)
          onStack.add(next)
          work.push({ node: next, edge: 0 })
        } else if (onStack.has(next)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, idx.get(next) as number))
        }
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1].node
        low.set(parent, Math.min(low.get(parent) as number, low.get(frame.node) as number))
      }
      if (low.get(frame.node) === idx.get(frame.node)) {
        const group: string[] = []
        let member: string
        do {
          member = stack.pop() as string
          onStack.delete(member)
          group.push(member)
        } while (member !== frame.node)
        if (group.length > 1) groups.push(group)
      }
    }
  }

  const problems: Problem[] = []
  for (const group of groups) {
    const inside = new Set(group)
    const exits = group.some((id) => (out.get(id) ?? []).some((e) => !inside.has(e.to)))
    // Traffic also leaves where a component passes on less than all of it (share < 1 around the loop).
    const attenuates = group.some((id) => {
      const internal = (out.get(id) ?? []).filter((e) => inside.has(e.to))
      return internal.reduce((sum, e) => sum + e.share, 0) < 1
    })
    if (!exits && !attenuates) {
      problems.push({ path: '/links', message: `cycle with no exit: ${group.sort().join(' → ')}` })
    }
  }
  return problems
}
