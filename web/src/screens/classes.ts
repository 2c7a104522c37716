// Classes (issue 40): a learner's classes and their assignments; an instructor's class with its
// join code, members, assignments and the results of each.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import type {
  Assignment,
  AssignmentResults,
  ClassMember,
  ClassResource,
  Organisation
} from '../../../src/domain/classes.ts'
import type { ExerciseSummary } from '../../../src/domain/resources.ts'
import { api, exercises } from '../api.ts'

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))
const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })
const STATUS_TEXT: Record<Assignment['status'], string> = {
  not_started: 'not started',
  started: 'started',
  submitted: 'submitted',
  late: 'submitted late'
}

/** Every class of the caller, joining one with a code, and (for staff) making one. */
export function Classes() {
  const [classes, setClasses] = useState<ClassResource[] | null>(null)
  const [orgs, setOrgs] = useState<Organisation[]>([])
  const [error, setError] = useState<string | null>(null)
  const [code, setCode] = useState('')
  const [orgName, setOrgName] = useState('')
  const [className, setClassName] = useState('')
  const load = () =>
    Promise.all([api<{ items: ClassResource[] }>('GET', '/classes'), api<{ items: Organisation[] }>('GET', '/orgs')])
      .then(([c, o]) => {
        setClasses(c.data.items)
        setOrgs(o.data.items)
      })
      .catch((err) => setError(message(err)))
  useEffect(() => {
    load()
  }, [])
  const staffOrg = orgs.find((o) => o.role !== null)

  async function join(event: Event) {
    event.preventDefault()
    setError(null)
    try {
      const { data } = await api<{ class: ClassResource }>('POST', '/classes/join', { code })
      location.hash = `#/c/${data.class.id}`
    } catch (err) {
      setError(message(err))
    }
  }
  async function create(event: Event) {
    event.preventDefault()
    setError(null)
    try {
      const organisationId =
        staffOrg?.id ?? (await api<Organisation>('POST', '/orgs', { name: orgName || className })).data.id
      const { data } = await api<ClassResource>('POST', '/classes', { organisationId, name: className })
      location.hash = `#/c/${data.id}`
    } catch (err) {
      setError(message(err))
    }
  }

  return html`
    <main class="page classes">
      <h1>Classes</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${classes === null && !error && html`<p aria-busy="true">Loading…</p>`}
      <ul class="class-list">
        ${classes?.map(
          (c) =>
            html`<li><a href=${`#/c/${c.id}`}>${c.name}</a> <span class="muted">${c.organisationName} · ${
              c.manages ? 'instructor' : 'learner'
            }</span></li>`
        )}
      </ul>
      <form class="join-class" onSubmit=${join}>
        <h2>Join a class</h2>
        <label>Join code <input name="code" value=${code} required minlength="4" maxlength="40"
          onInput=${(e: Event) => setCode((e.target as HTMLInputElement).value)} /></label>
        <button class="primary" type="submit">Join</button>
      </form>
      <form class="create-class" onSubmit=${create}>
        <h2>Teach a class</h2>
        ${
          staffOrg
            ? html`<p class="muted">In ${staffOrg.name}.</p>`
            : html`<label>Organisation <input name="organisation" value=${orgName}
                onInput=${(e: Event) => setOrgName((e.target as HTMLInputElement).value)} /></label>`
        }
        <label>Class name <input name="className" value=${className} required maxlength="120"
          onInput=${(e: Event) => setClassName((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Create the class</button>
      </form>
    </main>
  `
}

/** One class: a learner's assignments; an instructor's code, members, assignments and results. */
export function ClassPage(props: { id: string }) {
  const [cls, setCls] = useState<ClassResource | null>(null)
  const [assignments, setAssignments] = useState<Assignment[]>([])
  const [error, setError] = useState<string | null>(null)
  const load = () =>
    Promise.all([
      api<ClassResource>('GET', `/classes/${props.id}`),
      api<{ items: Assignment[] }>('GET', `/classes/${props.id}/assignments`)
    ])
      .then(([c, a]) => {
        setCls(c.data)
        setAssignments(a.data.items)
      })
      .catch((err) => setError(message(err)))
  useEffect(() => {
    load()
  }, [props.id])

  async function start(a: Assignment) {
    setError(null)
    try {
      const { data } = await api<{ id: string }>('POST', `/assignments/${a.id}/attempts`)
      location.hash = `#/w/${data.id}`
    } catch (err) {
      setError(message(err))
    }
  }

  if (!cls)
    return html`<main class="page">${error ? html`<p class="error" role="alert">${error}</p>` : html`<p aria-busy="true">Loading…</p>`}</main>`
  return html`
    <main class="page class-page">
      <p><a href="#/classes">← Classes</a></p>
      <h1>${cls.name}</h1>
      <p class="muted">${cls.organisationName}</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <h2>Assignments</h2>
      ${assignments.length === 0 && html`<p>No assignments yet.</p>`}
      <table class="assignments">
        <thead><tr><th>Assignment</th><th>Due</th><th>Status</th><th>Best score</th><th></th></tr></thead>
        <tbody>
          ${assignments.map(
            (a) => html`<tr data-assignment=${a.id}>
              <td>${a.title}${a.scale !== 1 ? html` <span class="muted">(×${a.scale})</span>` : ''}${
                a.hintsAllowed ? '' : html` <span class="muted">· no hints</span>`
              }</td>
              <td>${when(a.dueAt)}</td>
              <td class="status">${STATUS_TEXT[a.status]}</td>
              <td>${a.bestScore ?? '—'}</td>
              <td>${
                a.workspaceId
                  ? html`<a href=${`#/w/${a.workspaceId}`}>Open</a>`
                  : html`<button type="button" onClick=${() => start(a)} aria-label=${`Start ${a.title}`}>Start</button>`
              }</td>
            </tr>`
          )}
        </tbody>
      </table>
      ${cls.manages && html`<${InstructorPanel} cls=${cls} assignments=${assignments} onChange=${load} />`}
    </main>
  `
}

function InstructorPanel(props: { cls: ClassResource; assignments: Assignment[]; onChange: () => void }) {
  const { cls } = props
  const [code, setCode] = useState<string | null>(null)
  const [members, setMembers] = useState<ClassMember[]>([])
  const [catalogue, setCatalogue] = useState<ExerciseSummary[]>([])
  const [slug, setSlug] = useState('')
  const [due, setDue] = useState(() => new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 16))
  const [hints, setHints] = useState(true)
  const [results, setResults] = useState<AssignmentResults | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<{ items: ClassMember[] }>('GET', `/classes/${cls.id}/members`)
      .then(({ data }) => setMembers(data.items))
      .catch((err) => setError(message(err)))
    exercises
      .list()
      .then(({ data }) => {
        setCatalogue(data.items)
        setSlug(data.items[0]?.slug ?? '')
      })
      .catch((err) => setError(message(err)))
  }, [cls.id])

  const act = (work: () => Promise<void>) => () => {
    setError(null)
    work().catch((err) => setError(message(err)))
  }
  const newCode = act(async () => {
    setCode((await api<{ code: string }>('POST', `/classes/${cls.id}/join-codes`, {})).data.code as string)
  })
  async function assign(event: Event) {
    event.preventDefault()
    await act(async () => {
      await api('POST', `/classes/${cls.id}/assignments`, {
        exerciseSlug: slug,
        dueAt: new Date(due).toISOString(),
        hintsAllowed: hints
      })
      props.onChange()
    })()
  }
  const showResults = (a: Assignment) =>
    act(async () => setResults((await api<AssignmentResults>('GET', `/assignments/${a.id}/results`)).data))

  return html`
    <section class="instructor" aria-labelledby="instructor-heading">
      <h2 id="instructor-heading">Teaching</h2>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p>
        <button type="button" onClick=${newCode}>New join code</button>
        ${code && html` <strong class="join-code" aria-label="Join code">${code}</strong> <span class="muted">(shown once; valid 7 days)</span>`}
      </p>
      <h3>Members (${members.length})</h3>
      <ul class="members">${members.map((m) => html`<li>${m.displayName} <span class="muted">${m.role}</span></li>`)}</ul>
      <form class="assign" onSubmit=${assign}>
        <h3>Assign an exercise</h3>
        <label>Exercise <select name="exercise" value=${slug} onChange=${(e: Event) => setSlug((e.target as HTMLSelectElement).value)}>
          ${catalogue.map((e) => html`<option value=${e.slug}>${e.order}. ${e.title}</option>`)}
        </select></label>
        <label>Due <input type="datetime-local" name="due" value=${due} required
          onInput=${(e: Event) => setDue((e.target as HTMLInputElement).value)} /></label>
        <label><input type="checkbox" checked=${hints} onChange=${(e: Event) => setHints((e.target as HTMLInputElement).checked)} /> Hints allowed</label>
        <button class="primary" type="submit">Assign</button>
      </form>
      <h3>Results</h3>
      <ul>${props.assignments.map(
        (a) =>
          html`<li><button type="button" onClick=${showResults(a)} aria-label=${`Results of ${a.title}`}>${a.title}</button></li>`
      )}</ul>
      ${results && html`<${Results} results=${results} />`}
    </section>
  `
}

function Results(props: { results: AssignmentResults }) {
  const r = props.results
  const worst = r.mostFailedChecks[0]
  return html`
    <div class="results" data-results=${r.assignment.id}>
      <p class="summary">${r.started} of ${r.learners} started · ${r.submitted} submitted (${r.late} late) · ${r.passed} passed${
        r.scores.mean !== null ? ` · mean score ${r.scores.mean}` : ''
      }</p>
      ${worst && html`<p class="most-failed">Most failed check: <strong>${worst.title}</strong> (${worst.failed})</p>`}
      ${r.typicalBottleneck && html`<p class="bottleneck">Typical bottleneck: <strong>${r.typicalBottleneck.component}</strong> (${r.typicalBottleneck.learners})</p>`}
      <table>
        <thead><tr><th>Learner</th><th>Status</th><th>Score</th><th>Failed checks</th></tr></thead>
        <tbody>${r.items.map(
          (i) =>
            html`<tr><td>${i.displayName}</td><td>${STATUS_TEXT[i.status]}</td><td>${i.score ?? '—'}</td><td>${i.failedChecks.join(', ')}</td></tr>`
        )}</tbody>
      </table>
    </div>
  `
}
