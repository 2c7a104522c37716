// A workspace being edited: loaded once, its design (in the editor's store) and traffic profile
// autosaved as they change, a 422's problems placed beside what they name, and a 409 handed to
// the learner to settle (load theirs, or overwrite with mine). A design changed elsewhere is merged
// with this tab's (web/src/merge.ts, one step to undo); only a field changed on both sides is asked
// about. A cheap poll of the stored versions tells an idle tab it is behind, and takes the change in.
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Catalogue } from '../../../../src/domain/components.ts'
import { diffDesign } from '../../../../src/domain/design-change.ts'
import type { TrafficProfileResource, Workspace } from '../../../../src/domain/resources.ts'
import type { TrafficProfile } from '../../../../src/domain/schemas.ts'
import { ApiError, fitsKeepalive, type Problem, workspaces } from '../../api.ts'
import { Autosaver, type SaveState } from '../../autosave.ts'
import { type Design, withLayout } from '../../design.ts'
import { type MergeConflict, type Merged, merge, settle } from '../../merge.ts'
import type { Store } from '../../store.ts'

export interface Conflict {
  what: 'design' | 'traffic'
  /** The newer copy: the workspace, or the traffic profile. */
  theirs: Workspace | TrafficProfileResource
  /** A design's fields changed both here and there (the rest is merged already). */
  fields?: MergeConflict[]
}

/** How often an open editor asks whether another tab or device saved (the answer is a few bytes). */
export const VERSION_POLL_MS = 4000

/** A 422's problems, keyed by what they name in the design that was sent. */
export interface PlacedProblems {
  byComponent: Map<string, Problem[]>
  byLink: Map<string, Problem[]>
  general: Problem[]
}

export const NO_PROBLEMS: PlacedProblems = { byComponent: new Map(), byLink: new Map(), general: [] }

export function placeProblems(problems: Problem[], sent: Design): PlacedProblems {
  const placed: PlacedProblems = { byComponent: new Map(), byLink: new Map(), general: [] }
  for (const p of problems) {
    const component = /^\/components\/(\d+)/.exec(p.path)
    const link = /^\/links\/(\d+)/.exec(p.path)
    if (component && sent.components[Number(component[1])]) {
      const id = sent.components[Number(component[1])].id
      placed.byComponent.set(id, [...(placed.byComponent.get(id) ?? []), p])
    } else if (link && sent.links[Number(link[1])]) {
      const l = sent.links[Number(link[1])]
      const key = `${l.from}->${l.to}`
      placed.byLink.set(key, [...(placed.byLink.get(key) ?? []), p])
    } else placed.general.push(p)
    // A split whose shares do not add up is about its links' shares: said on each of them too.
    const split = /^\/components\/(\d+)$/.exec(p.path)
    const from = split && /\bshares\b/.test(p.message) ? sent.components[Number(split[1])]?.id : undefined
    for (const l of from ? sent.links.filter((x) => x.from === from) : []) {
      const key = `${l.from}->${l.to}`
      placed.byLink.set(key, [...(placed.byLink.get(key) ?? []), { path: `${p.path}/share`, message: p.message }])
    }
  }
  return placed
}

/** The profile's own fields, without the resource's (workspace, version, time). */
const pickProfile = (p: TrafficProfile): TrafficProfile => ({
  peakRps: p.peakRps,
  readRatio: p.readRatio,
  payloadKb: p.payloadKb,
  latencySloMs: p.latencySloMs,
  budgetPerMonth: p.budgetPerMonth ?? null,
  availabilityTarget: p.availabilityTarget ?? null
})

export function useWorkspace(id: string, store: Store, catalogue: Catalogue) {
  const [workspace, setWorkspace] = useState<Workspace | null>(null)
  const [loadError, setLoadError] = useState<string | null>(null)
  const [profile, setProfile] = useState<TrafficProfile | null>(null)
  const [designState, setDesignState] = useState<SaveState>({ kind: 'saved' })
  const [profileState, setProfileState] = useState<SaveState>({ kind: 'saved' })
  const [problems, setProblems] = useState<PlacedProblems>(NO_PROBLEMS)
  /** The traffic profile's refusal: a plain sentence per field, shown beside it. */
  const [profileProblems, setProfileProblems] = useState<Problem[]>([])
  const [conflict, setConflict] = useState<Conflict | null>(null)
  /** Said once a change saved elsewhere is merged in. */
  const [notice, setNotice] = useState<string | null>(null)
  const designSaver = useRef<Autosaver<Design> | null>(null)
  const profileSaver = useRef<Autosaver<TrafficProfile> | null>(null)

  useEffect(() => {
    let live = true
    Promise.all([workspaces.get(id), workspaces.traffic(id)])
      .then(([ws, traffic]) => {
        if (!live) return
        setWorkspace(ws.data)
        store.dispatch({ type: 'load', design: withLayout(ws.data.design, catalogue) })
        setProfile(pickProfile(traffic.data))
        // On the way out only the change is sent (a keepalive body is at most 64 KB), when the
        // stored version's design is known; else the whole design, if it fits.
        const leaving = (design: Design, version: number, base: Design | null) =>
          base ? { version, designChange: diffDesign(base, design) } : { version, design }
        designSaver.current = new Autosaver<Design>(
          ws.data.version,
          {
            what: 'design',
            save: async (value, version, keepalive, base) =>
              (keepalive && base
                ? await workspaces.saveDesignChange(id, version, diffDesign(base, value), true)
                : await workspaces.saveDesign(id, version, value, keepalive)
              ).data.version,
            fitsOnLeave: (design, version, base) => fitsKeepalive(leaving(design, version, base)),
            onState: (state) => {
              setDesignState(state)
              if (state.kind === 'invalid') setProblems(placeProblems(state.problems, state.sent as Design))
              else if (state.kind === 'saved') setProblems(NO_PROBLEMS)
              else if (state.kind === 'conflict') void workspaces.get(id).then(({ data }) => mergeTheirs(data))
            }
          },
          ws.data.design
        )
        profileSaver.current = new Autosaver<TrafficProfile>(traffic.data.version, {
          what: 'traffic profile',
          save: async (value, version, keepalive) =>
            (await workspaces.saveTraffic(id, version, value, keepalive)).data.version,
          fitsOnLeave: (profile, version) => fitsKeepalive({ version, ...profile }),
          onState: (state) => {
            setProfileState(state)
            if (state.kind === 'invalid') setProfileProblems(state.problems)
            else if (state.kind === 'saved') setProfileProblems([])
            if (state.kind === 'conflict')
              void workspaces.traffic(id).then(({ data }) => setConflict({ what: 'traffic', theirs: data }))
          }
        })
      })
      .catch(
        (err) =>
          live &&
          setLoadError(
            err instanceof ApiError && err.status === 404 ? 'No such workspace.' : String(err.message ?? err)
          )
      )
    // Every edit of the design is saved (a loaded design is the saved one already).
    const unsubscribe = store.subscribe((state, action) => {
      if (action.type === 'load' || action.type === 'select' || (action.type === 'merge' && action.saved)) return
      designSaver.current?.change(state.design)
    })
    // Behind another tab or device? An idle tab takes the newer copy in; a busy one merges on its 409.
    const poll = setInterval(() => {
      if (document.visibilityState !== 'visible') return
      const design = designSaver.current
      const traffic = profileSaver.current
      if (!design?.idle && !traffic?.idle) return
      workspaces
        .versions(id)
        .then(async ({ data }) => {
          if (!live) return
          if (design?.idle && data.design > design.currentVersion) {
            const { data: theirs } = await workspaces.get(id)
            if (live && design.idle && theirs.version > design.currentVersion) mergeTheirs(theirs)
          }
          if (traffic?.idle && data.traffic > traffic.currentVersion) {
            const { data: theirs } = await workspaces.traffic(id)
            if (!live || !traffic.idle || theirs.version <= traffic.currentVersion) return
            traffic.adopt(theirs.version, pickProfile(theirs))
            setProfile(pickProfile(theirs))
            setNotice('The traffic profile was changed in another tab; this one shows it now.')
          }
        })
        // Offline, or signed out: the next save says so.
        .catch(() => {})
    }, VERSION_POLL_MS)
    // Leaving: what is pending goes in keepalive requests; the prompt asks only when it cannot.
    const flushOnLeave = () => {
      const design = designSaver.current?.flushOnLeave() ?? true
      const profile = profileSaver.current?.flushOnLeave() ?? true
      return design && profile
    }
    const beforeUnload = (event: BeforeUnloadEvent) => {
      if (!flushOnLeave()) event.preventDefault()
    }
    const hidden = () => {
      if (document.visibilityState === 'hidden') flushOnLeave()
    }
    addEventListener('beforeunload', beforeUnload)
    addEventListener('pagehide', flushOnLeave)
    document.addEventListener('visibilitychange', hidden)
    return () => {
      live = false
      clearInterval(poll)
      unsubscribe()
      removeEventListener('beforeunload', beforeUnload)
      removeEventListener('pagehide', flushOnLeave)
      document.removeEventListener('visibilitychange', hidden)
      designSaver.current?.flush()
      profileSaver.current?.flush()
    }
  }, [id])

  function changeProfile(next: TrafficProfile) {
    setProfile(next)
    profileSaver.current?.change(next)
  }

  /**
   * A newer stored design merged with this tab's: base (what this tab's version held), mine (the
   * store's) and theirs. Without a field changed on both sides it is applied at once, one step to
   * undo; else the learner is asked about those fields only. Nothing of either side is dropped.
   */
  function mergeTheirs(theirs: Workspace) {
    const saver = designSaver.current
    const base = saver?.savedValue
    if (!saver || !base) {
      setConflict({ what: 'design', theirs })
      return
    }
    const idle = saver.idle
    const merged: Merged = merge(base, store.getState().design, theirs.design, catalogue)
    saver.rebase(theirs.version, theirs.design)
    if (merged.conflicts.length > 0) {
      setConflict({ what: 'design', theirs, fields: merged.conflicts })
      return
    }
    // An idle tab's merge is their design as stored: nothing to save back.
    store.dispatch({ type: 'merge', design: withLayout(merged.design, catalogue), saved: idle })
    setNotice(
      idle
        ? 'The design was changed in another tab; this one shows it now (Undo takes it back out).'
        : 'The design was changed in another tab too: both changes are kept (Undo takes theirs back out).'
    )
  }

  function resolveConflict(choice: 'theirs' | 'mine') {
    if (!conflict) return
    if (conflict.what === 'design' && conflict.fields) {
      // The conflicting fields of the design as it is now (edits made since the question kept).
      const design = settle({ design: store.getState().design, conflicts: conflict.fields }, choice, catalogue)
      store.dispatch({ type: 'merge', design })
      // Mine as it is: the same design, still to be saved over theirs.
      designSaver.current?.flush()
      setConflict(null)
      return
    }
    const saver = conflict.what === 'design' ? designSaver.current : profileSaver.current
    if (choice === 'mine') saver?.overwrite(conflict.theirs.version)
    else if (conflict.what === 'design') {
      const theirs = conflict.theirs as Workspace
      ;(saver as Autosaver<Design> | null)?.adopt(theirs.version, theirs.design)
      store.dispatch({ type: 'load', design: withLayout(theirs.design, catalogue) })
    } else {
      saver?.adopt(conflict.theirs.version)
      setProfile(pickProfile(conflict.theirs as TrafficProfileResource))
    }
    setConflict(null)
  }

  /** Resolves once both the design and the profile are saved (before a run snapshots them). */
  const whenSaved = () => Promise.all([designSaver.current?.whenSaved(), profileSaver.current?.whenSaved()])

  return {
    workspace,
    loadError,
    profile,
    changeProfile,
    designState,
    profileState,
    problems,
    profileProblems,
    conflict,
    resolveConflict,
    notice,
    dismissNotice: () => setNotice(null),
    whenSaved
  }
}
