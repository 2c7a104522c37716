// A workspace opened by its read-only share link (`/shared/<token>`): the design on a canvas that
// cannot be edited, its last result and grade, and a button that forks it into one's own workspaces.
// Nothing of its owner is shown (the api sends nothing of them). No session needed to look.
import { html } from 'htm/preact'
import type { VNode } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import type { SharedWorkspace } from '../../../src/domain/resources.ts'
import type { StoredComponentResult } from '../../../src/domain/schemas.ts'
import { ApiError, shares, type User } from '../api.ts'
import { catalogue } from '../catalogue.ts'
import { withLayout } from '../design.ts'
import { Canvas } from './editor/canvas.ts'
import { GradePanel, ResultsPanel } from './editor/results.ts'

export function SharedPage(props: { token: string; user: User | null | undefined; signIn: VNode }) {
  const [shared, setShared] = useState<SharedWorkspace | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [forking, setForking] = useState<'idle' | 'asking' | 'busy'>('idle')

  useEffect(() => {
    shares
      .view(props.token)
      .then(({ data }) => setShared(data))
      .catch((err) =>
        setError(
          err instanceof ApiError && err.status === 404
            ? 'This share link does not work (any more): it was revoked, it expired, or it was mistyped.'
            : String(err.message ?? err)
        )
      )
  }, [props.token])

  // Asked to sign in to fork, and now signed in: the fork goes ahead.
  useEffect(() => {
    if (forking === 'asking' && props.user) void fork()
  }, [forking, props.user])

  const design = useMemo(() => (shared ? withLayout(shared.design, catalogue) : null), [shared])
  const results = useMemo(
    () =>
      shared?.lastRun
        ? new Map<string, StoredComponentResult>(shared.lastRun.result.components.map((c) => [c.id, c]))
        : null,
    [shared]
  )

  async function fork() {
    setForking('busy')
    try {
      const { data } = await shares.fork(props.token)
      location.href = `/#/w/${data.id}`
    } catch (err) {
      setForking('idle')
      setError(err instanceof Error ? err.message : String(err))
    }
  }

  if (error)
    return html`<main class="page"><p class="error" role="alert">${error}</p><a href="/">System Design Coach</a></main>`
  if (!shared || !design) return html`<main class="page"><p aria-busy="true">Loading…</p></main>`
  const signedIn = Boolean(props.user)
  return html`
    <div class="shared-page">
      <header class="editor-bar">
        <a href="/" class="back">System Design Coach</a>
        <h1 class="ws-name">${shared.name}</h1>
        <span class="read-only-badge" data-read-only>Shared, read-only</span>
        <div class="bar-actions">
          <button class="primary" disabled=${forking === 'busy'} onClick=${() => (signedIn ? fork() : setForking('asking'))}>
            ${forking === 'busy' ? 'Forking…' : 'Fork into my workspaces'}
          </button>
        </div>
      </header>
      ${shared.description && html`<p class="shared-description">${shared.description}</p>`}
      ${forking === 'asking' && !signedIn && html`<section class="shared-sign-in" aria-label="Sign in to fork"><p>Sign in or create an account to fork this design; it stays here meanwhile.</p>${props.signIn}</section>`}
      <div class="shared-body">
        <div class="canvas-wrap">
          <${Canvas}
            design=${design}
            catalogue=${catalogue}
            selection=${null}
            results=${results}
            bottleneck=${shared.lastRun?.result.overall.bottleneck ?? null}
            highlight=${new Set()}
            problemIds=${new Set()}
            readOnly=${true}
            onSelect=${() => {}}
            onMove=${() => {}}
            onConnect=${() => {}}
            onOpen=${() => {}}
            onDelete=${() => {}}
            zoom=${1}
          />
        </div>
        <aside class="side" aria-label="Result and grade">
          <p class="hint">Traffic: ${shared.trafficProfile.peakRps} requests/s at peak, ${Math.round(shared.trafficProfile.readRatio * 100)}% reads, p95 under ${shared.trafficProfile.latencySloMs} ms. Link live until ${new Date(shared.expiresAt).toLocaleDateString()}.</p>
          ${
            shared.lastRun
              ? html`<${ResultsPanel} run=${{ id: 'shared', status: 'completed', error: null, result: shared.lastRun.result }} error=${null} slo=${shared.trafficProfile.latencySloMs} />`
              : html`<p class="hint">Not simulated yet.</p>`
          }
          ${shared.grade && html`<${GradePanel} grade=${{ id: 'shared', status: 'completed', score: shared.grade.score, items: shared.grade.items, rubricVersion: null, error: null }} onSelectItem=${() => {}} />`}
        </aside>
      </div>
    </div>
  `
}
