// The runs of a workspace as the editor follows them: the newest completed one on opening, a run
// queued and polled until it ends, its grade queued and polled, an older run opened from the list.
import { useEffect, useState } from 'preact/hooks'
import type { Predictions } from '../../../../src/domain/resources.ts'
import { runs, workspaces } from '../../api.ts'
import type { GradeView, RunView } from './results.ts'

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err))

export function useRuns(workspaceId: string) {
  const [run, setRun] = useState<RunView | null>(null)
  const [runError, setRunError] = useState<string | null>(null)
  const [grade, setGrade] = useState<GradeView | null>(null)
  /** Counts the runs and grades made here, so the list of runs reloads after each. */
  const [made, setMade] = useState(0)

  // The newest completed run, drawn on the canvas straight away.
  useEffect(() => {
    let live = true
    workspaces
      .runs(workspaceId, 1)
      .then(({ data }) => {
        const last = data.items[0]
        if (live && last?.status === 'completed') return runs.get(last.id).then((r) => live && setRun(r.data))
      })
      .catch(() => {})
    return () => {
      live = false
    }
  }, [workspaceId])

  /** Runs the design once `ready` (its edits saved) resolves. */
  async function simulate(ready: () => Promise<unknown>, predictions?: Predictions) {
    setRunError(null)
    setGrade(null)
    try {
      await ready()
      const location = await workspaces.simulate(workspaceId, predictions)
      setRun({ id: '', status: 'queued', error: null })
      const done = await runs.poll(location, setRun)
      if (done.status === 'failed') setRunError(done.error ?? 'The simulation failed.')
      setMade((n) => n + 1)
    } catch (err) {
      setRun(null)
      setRunError(messageOf(err))
    }
  }

  async function gradeRun() {
    if (!run?.id || run.status !== 'completed') return
    const pending = { id: '', score: null, items: null, rubricVersion: null } as const
    try {
      const location = await runs.grade(run.id)
      setGrade({ ...pending, status: 'queued', error: null })
      await runs.pollGrade(location, setGrade)
      setMade((n) => n + 1)
    } catch (err) {
      setGrade({ ...pending, status: 'failed', error: messageOf(err) })
    }
  }

  async function open(id: string) {
    const { data } = await runs.get(id)
    setRun(data)
    setGrade(null)
  }

  const busy = run !== null && (run.status === 'queued' || run.status === 'running')
  const grading = grade?.status === 'queued' || grade?.status === 'running'
  return { run, runError, grade, made, busy, grading, simulate, gradeRun, open }
}
