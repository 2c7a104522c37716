// The API client: the access token lives in this module's memory only; the refresh token in an
// HttpOnly cookie the script never sees (`X-Refresh-Cookie: 1`). A 401 refreshes once and retries;
// when the refresh fails too, the session has ended and the app says so.
import type { Derivation } from '../../src/domain/explain-schemas.ts'
import type {
  Attempt,
  ExerciseDetail,
  ExerciseSummary,
  GradeReport,
  Predictions,
  Reference,
  Run,
  RunSummary,
  SharedWorkspace,
  ShareLink,
  ShareStatus,
  Submission,
  TrafficProfileResource,
  User,
  Workspace,
  WorkspaceSummary
} from '../../src/domain/resources.ts'
import type { DesignChange, DesignDocument, DesignPreview, Problem, TrafficProfile } from '../../src/domain/schemas.ts'

import { ApiError } from './api-error.ts'

export type { Problem, User }
export { ApiError }

let accessToken: string | null = null
let refreshing: Promise<User | null> | null = null
let sessionEnded: () => void = () => {}

export const onSessionEnded = (handler: () => void) => {
  sessionEnded = handler
}

/**
 * A keepalive request's body may be at most 64 KB (all of a page's pending ones together): a
 * design to save as the page goes must fit in this, leaving room for the traffic profile's.
 */
export const KEEPALIVE_BODY_BYTES = 60 * 1024

/** Whether a body fits a keepalive request. */
export const fitsKeepalive = (body: unknown): boolean =>
  new TextEncoder().encode(JSON.stringify(body)).length <= KEEPALIVE_BODY_BYTES

async function send(
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
  keepalive = false
) {
  const headers: Record<string, string> = { accept: 'application/json', ...extra }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (accessToken) headers.authorization = `Bearer ${accessToken}`
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      keepalive
    })
  } catch {
    throw new ApiError(0, 'OFFLINE', 'The service cannot be reached; check your connection.')
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {}
  try {
    body = await response.json()
  } catch {}
  // A refused request says it in the api's plain sentences (its `message` is schema text for older clients).
  const plain = response.status === 400 && Array.isArray(body.problems) ? (body.problems as Problem[]) : []
  const message =
    plain.length > 0
      ? plain.map((p) => p.message).join('; ')
      : typeof body.message === 'string'
        ? body.message
        : `${response.status} ${response.statusText}`
  return new ApiError(response.status, typeof body.code === 'string' ? body.code : 'HTTP', message, body)
}

export interface Answer<T> {
  data: T
  response: Response
}

/** A request as the signed-in user: a 401 refreshes the session once and retries. Throws ApiError on any non-2xx answer. */
async function authorized(method: string, path: string, body?: unknown, keepalive = false): Promise<Response> {
  let response = await send(method, path, body, {}, keepalive)
  if (response.status === 401 && accessToken !== null) {
    const user = await refreshSession()
    if (!user) {
      sessionEnded()
      throw await errorOf(response)
    }
    response = await send(method, path, body, {}, keepalive)
  }
  if (!response.ok) throw await errorOf(response)
  return response
}

/** One API call as the signed-in user; JSON in and out. Throws ApiError on any non-2xx answer. */
export async function api<T>(method: string, path: string, body?: unknown, keepalive = false): Promise<Answer<T>> {
  const response = await authorized(method, path, body, keepalive)
  const type = response.headers.get('content-type') ?? ''
  const data = response.status === 204 ? null : type.includes('json') ? await response.json() : await response.text()
  return { data: data as T, response }
}

interface TokenPair {
  accessToken: string
  user: User
}

const COOKIE_MODE = { 'x-refresh-cookie': '1' }

/**
 * A new access token from the refresh cookie; null when the session is over. Tabs take turns (a
 * Web Lock): the cookie rotates on every use, and two tabs presenting the same one at once would
 * look like a stolen token and end the session.
 */
export function refreshSession(): Promise<User | null> {
  // No session cookie, nothing to refresh: a first visit asks nothing (and logs no 401).
  if (!document.cookie.split('; ').includes('sdc_signed_in=1')) return Promise.resolve(null)
  refreshing ??= withLock(async () => {
    const response = await send('POST', '/auth/refresh', {}, COOKIE_MODE).catch(() => null)
    if (!response?.ok) {
      accessToken = null
      return null
    }
    const pair = (await response.json()) as TokenPair
    accessToken = pair.accessToken
    return pair.user
  }).finally(() => {
    refreshing = null
  })
  return refreshing
}

function withLock<T>(task: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks
  return locks ? (locks.request('sdc-refresh', task) as Promise<T>) : task()
}

/** Signs in: the access token kept here, the refresh token (and the device's cookie) set by the answer. */
async function startSession(path: string, body: unknown): Promise<User> {
  const response = await send('POST', path, body, COOKIE_MODE)
  if (!response.ok) throw await errorOf(response)
  const pair = (await response.json()) as TokenPair
  accessToken = pair.accessToken
  return pair.user
}

/** Throws ApiError `APP_ERR_LOGIN_CHALLENGE` when the service emailed a sign-in link instead (a busy account, an unknown browser). */
export const signIn = (email: string, password: string): Promise<User> =>
  startSession('/auth/login', { email, password })

/** Signs in with the one-time link's token; the browser is known from then on. */
export const signInWithLink = (token: string): Promise<User> => startSession('/auth/login-link', { token })

/**
 * `created`: the account exists and may sign in. `accepted`: the service asks the address to
 * confirm first, and says the same whether or not it already had an account (its owner is mailed).
 * Throws ApiError `APP_ERR_EMAIL_TAKEN` where confirming is off.
 */
export async function signUp(email: string, password: string, displayName: string): Promise<'created' | 'accepted'> {
  const response = await send('POST', '/auth/register', { email, password, displayName })
  if (!response.ok) throw await errorOf(response)
  return response.status === 202 ? 'accepted' : 'created'
}

export async function signOut(): Promise<void> {
  await send('POST', '/auth/logout', {}, COOKIE_MODE).catch(() => null)
  accessToken = null
}

export async function publicCall(path: string, body: unknown): Promise<void> {
  const response = await send('POST', path, body)
  if (!response.ok) throw await errorOf(response)
}

/** Polls a queued resource until it leaves queued/running; gives up after `timeoutMs`. */
export async function poll<T extends { status: string }>(
  path: string,
  onUpdate: (value: T) => void,
  timeoutMs = 120_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let delay = 150
  for (;;) {
    const { data } = await api<T>('GET', path)
    onUpdate(data)
    if (data.status !== 'queued' && data.status !== 'running') return data
    if (Date.now() > deadline) throw new ApiError(0, 'TIMEOUT', 'Still running after two minutes; try again later.')
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 1.5, 1000)
  }
}

// The calls the screens make, typed from the api's own schemas (src/domain/schemas.ts; type-only
// imports, so nothing of the server is bundled).

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

const cursorQuery = (limit: number, cursor: string | null) =>
  `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`

/** What a 202 points at: the resource to poll (its `Location`). */
const located = ({ response }: Answer<unknown>) => response.headers.get('location') ?? ''

export const workspaces = {
  list: (cursor: string | null) => api<Page<WorkspaceSummary>>('GET', `/workspaces?${cursorQuery(20, cursor)}`),
  create: (name: string, design: DesignDocument) => api<Workspace>('POST', '/workspaces', { name, design }),
  get: (id: string) => api<Workspace>('GET', `/workspaces/${id}`),
  /** Autosave: the stored version goes with the change, and a stale one answers 409. */
  saveDesign: (id: string, version: number, design: DesignDocument, keepalive = false) =>
    api<Workspace>('PATCH', `/workspaces/${id}`, { version, design }, keepalive),
  /** The same as a change to the stored version (what a closing page sends: a keepalive body is at most 64 KB). */
  saveDesignChange: (id: string, version: number, designChange: DesignChange, keepalive = false) =>
    api<Workspace>('PATCH', `/workspaces/${id}`, { version, designChange }, keepalive),
  describe: (id: string, version: number, details: { name: string; description: string }) =>
    api<Workspace>('PATCH', `/workspaces/${id}`, { version, ...details }),
  remove: (id: string) => api<null>('DELETE', `/workspaces/${id}`),
  traffic: (id: string) => api<TrafficProfileResource>('GET', `/workspaces/${id}/traffic-profile`),
  saveTraffic: (id: string, version: number, profile: TrafficProfile, keepalive = false) =>
    api<TrafficProfileResource>('PATCH', `/workspaces/${id}/traffic-profile`, { version, ...profile }, keepalive),
  /** The analytic figures of the saved design, at once (no job). */
  preview: (id: string) => api<DesignPreview>('POST', `/workspaces/${id}/preview`, {}),
  /** The same figures for a draft: a what-if's design or traffic, never saved. */
  previewOf: (id: string, draft: { design?: DesignDocument; trafficProfile?: TrafficProfile; down?: string[] }) =>
    api<DesignPreview>('POST', `/workspaces/${id}/preview`, draft),
  /** The stored versions only (a few bytes): polled to learn another tab or device saved. */
  versions: (id: string) => api<{ design: number; traffic: number }>('GET', `/workspaces/${id}/versions`),
  runs: (id: string, limit: number, cursor: string | null = null) =>
    api<Page<RunSummary>>('GET', `/workspaces/${id}/simulations?${cursorQuery(limit, cursor)}`),
  /** Queues a run; resolves to where it is polled. */
  simulate: (id: string, predictions?: Predictions) =>
    api<{ id: string }>('POST', `/workspaces/${id}/simulations`, predictions ? { predictions } : {}).then(located)
}

export const shares = {
  status: (id: string) => api<ShareStatus>('GET', `/workspaces/${id}/shares`),
  /** A new read-only link (the workspace's last one stops working); its token is shown this once. */
  create: (id: string, expiresInDays: number) => api<ShareLink>('POST', `/workspaces/${id}/shares`, { expiresInDays }),
  revoke: (id: string) => api<null>('DELETE', `/workspaces/${id}/shares`),
  /** What a link shows; it needs no session. */
  view: (token: string) => api<SharedWorkspace>('GET', `/shares/${encodeURIComponent(token)}`),
  fork: (token: string) => api<Workspace>('POST', `/shares/${encodeURIComponent(token)}/forks`, {})
}

export const runs = {
  get: (id: string) => api<Run>('GET', `/simulations/${id}`),
  poll: (location: string, onUpdate: (run: Run) => void) => poll<Run>(location, onUpdate),
  /** Queues a grade of a completed run; resolves to where it is polled. */
  grade: (id: string) => api<{ id: string }>('POST', `/simulations/${id}/grade`, {}).then(located),
  pollGrade: (location: string, onUpdate: (grade: GradeReport) => void) => poll<GradeReport>(location, onUpdate),
  /** How a figure was computed: `component=<id>` or `figure=overall` (issue 38). */
  explain: (id: string, query: { component: string } | { figure: 'overall' }) =>
    api<Derivation>(
      'GET',
      `/simulations/${id}/explain?${'component' in query ? `component=${encodeURIComponent(query.component)}` : 'figure=overall'}`
    )
}

export const account = {
  /** Mails a reset link if the address has an account; the answer is the same either way. */
  requestReset: (email: string) => publicCall('/account/password-reset', { email }),
  /** Sets the new password with the link's token; every session ends, this one included. */
  confirmReset: (token: string, newPassword: string) =>
    publicCall('/account/password-reset/confirm', { token, newPassword }),
  /** Everything of the signed-in user's, as the file to save and the name the service gives it. */
  async exportData(): Promise<{ file: Blob; filename: string }> {
    const response = await authorized('GET', '/account/export')
    const named = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')
    return { file: await response.blob(), filename: named?.[1] ?? 'system-design-coach.json' }
  },
  /** Deletes the account, with its password again; the session ends with it. */
  async remove(password: string): Promise<void> {
    await authorized('DELETE', '/account', { password })
    accessToken = null
  }
}

/** The exercises: the list and one need no session (a newcomer sees them before signing up). */
export const exercises = {
  list: () => api<{ items: ExerciseSummary[] }>('GET', '/exercises'),
  get: (slug: string) => api<ExerciseDetail>('GET', `/exercises/${encodeURIComponent(slug)}`),
  /** A new attempt: a workspace whose traffic profile is the requirements, locked. */
  start: (slug: string) => api<Workspace>('POST', `/exercises/${encodeURIComponent(slug)}/attempts`, {}),
  /** The attempt a workspace is; null when it is none. */
  attempt: (workspaceId: string) => api<{ attempt: Attempt | null }>('GET', `/workspaces/${workspaceId}/attempt`),
  hint: (workspaceId: string) =>
    api<{ level: number; text: string; cost: number; hintPoints: number; hintsLeft: number }>(
      'POST',
      `/workspaces/${workspaceId}/hints`,
      {}
    ),
  submit: (workspaceId: string) => api<Submission>('POST', `/workspaces/${workspaceId}/submit`, {}),
  giveUp: (workspaceId: string) => api<{ givenUpAt: string }>('POST', `/workspaces/${workspaceId}/give-up`, {}),
  reference: (slug: string) => api<Reference>('GET', `/exercises/${encodeURIComponent(slug)}/reference`)
}

/** The learner's progress page (issue 38). */
export interface Progress {
  exercises: {
    slug: string
    title: string
    attempts: number
    bestScore: number | null
    checksPassed: number | null
    checksTotal: number | null
    hintsUsed: number
    lastAttemptAt: string
  }[]
  estimation: { runId: string; workspaceId: string; at: string; score: number }[]
}

export const progress = {
  get: () => api<Progress>('GET', '/progress')
}
