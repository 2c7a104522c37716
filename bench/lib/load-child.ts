// The load generator, in a process of its own (pinned by the parent with taskset): never in the
// process it measures, so its cost is never added to the server's. Takes load specs over IPC and
// answers with autocannon's figures.
import autocannon from 'autocannon'
import type { LoadSpec, Run } from './load.ts'

/** The version each workspace was last saved at, kept across passes so no pass starts with a 409. */
const versions = new Map<string, number>()

function requestsFor(spec: LoadSpec): autocannon.Request[] | undefined {
  if (spec.scenario === 'rotate') {
    // Each request to the next path of the list (writes spread over workspaces), with that
    // path's headers when given (one learner per workspace).
    let i = 0
    const paths = spec.paths as string[]
    const headers = spec.headersList
    return [
      {
        method: spec.method ?? 'GET',
        headers: spec.headers,
        body: spec.body,
        setupRequest: (req) => {
          const k = i++ % paths.length
          return { ...req, path: paths[k], ...(headers ? { headers: headers[k] } : {}) }
        }
      }
    ]
  }
  if (spec.scenario === 'autosave') {
    // Like an editor's autosave: one save in flight per workspace, each carrying the version the
    // last one returned (autocannon clears a request's context after each response, so the state
    // lives here).
    const workspaces = spec.paths as string[]
    const saving = new Set<string>()
    return [
      {
        method: 'PATCH',
        headers: spec.headers,
        setupRequest: (req, context) => {
          const ws = workspaces.find((w) => !saving.has(w)) as string
          saving.add(ws)
          ;(context as { ws?: string }).ws = ws
          const version = versions.get(ws) ?? 1
          return { ...req, path: ws, body: JSON.stringify({ version, name: `saved ${version}` }) }
        },
        onResponse: (status, body, context) => {
          const { ws } = context as { ws: string }
          saving.delete(ws)
          if (status === 200) versions.set(ws, JSON.parse(body).version)
          else if (status === 409) versions.set(ws, JSON.parse(body).currentVersion)
        }
      }
    ]
  }
  return undefined
}

process.on('message', async (spec: LoadSpec) => {
  const requests = requestsFor(spec)
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    method: spec.method ?? 'GET',
    headers: spec.headers,
    body: spec.body,
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
    ...(requests ? { requests } : {})
  })
  const latency = result.latency as unknown as Record<string, number>
  const run: Run = {
    requestsPerSec: Math.round(result.requests.average),
    p50: latency.p50,
    p99: latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    non2xxByStatus: Object.fromEntries(
      Object.entries(result.statusCodeStats as Record<string, { count: number }>)
        .filter(([status]) => !status.startsWith('2'))
        .map(([status, { count }]) => [status, count])
    ),
    errors: result.errors
  }
  process.send?.(run)
})
