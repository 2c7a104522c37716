import type { JobWithMetadata } from 'pg-boss'
import t from 'tap'
import { markFailedOnFinalFailure } from '../../jobs/product-queue.ts'
import { failExport } from '../../src/exports/store.ts'
import { failGrade } from '../../src/runs/grades.ts'
import { failRun } from '../../src/runs/runs.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, superuserUrl, testSql } from '../helpers/db.ts'
import { SAMPLE_DESIGN } from '../helpers/designs.ts'
import { registerAndLogin } from '../helpers/users.ts'
import { postWorkspace } from '../helpers/workspaces.ts'

const jobOf = (data: unknown) => ({ data }) as JobWithMetadata<unknown>

t.test('a final failure marks the job’s own row failed, through its area’s statement', async (t) => {
  const { url } = await createTestDatabase(t)
  const { app } = await buildTestApp(t, url)
  // The hook runs as the app (as the worker does); the fixtures are written past the policies.
  const sql = app.sql
  const root = testSql(t, superuserUrl(url))
  const user = await registerAndLogin(app)
  const other = await registerAndLogin(app)
  const workspaceId = (await postWorkspace(app, user, { name: 'w', design: SAMPLE_DESIGN })).json().id
  const run = async (status: string) =>
    (
      await root`
        insert into app.simulation_runs (workspace_id, owner_id, status, design, traffic, seed)
        select id, owner_id, ${status}, design, '{}'::jsonb, 1 from app.workspaces where id = ${workspaceId}
        returning id
      `
    )[0].id as string
  const queuedRun = await run('running')
  const completedRun = await run('completed')
  const [grade] = await root`
    insert into app.grade_reports (simulation_id, owner_id, status)
    values (${completedRun}, ${user.id}, 'queued') returning id
  `
  const [exported] = await root`
    insert into app.report_exports (workspace_id, owner_id, format, status)
    values (${workspaceId}, ${user.id}, 'json', 'queued') returning id
  `
  const state = async (table: string, id: string) =>
    (await root`select status, error, completed_at from ${root(`app.${table}`)} where id = ${id}`)[0]

  const err = new Error(`engine exploded ${'x'.repeat(600)}`)
  // A job names its owner; one naming another user marks nothing (the policies hold it to theirs).
  await markFailedOnFinalFailure(sql, failRun, 'runId').onFinalFailure?.(
    err,
    jobOf({ runId: queuedRun, ownerId: other.id })
  )
  t.match(
    await state('simulation_runs', queuedRun),
    { status: 'running', error: null },
    'another owner’s job: untouched'
  )
  await markFailedOnFinalFailure(sql, failRun, 'runId').onFinalFailure?.(
    err,
    jobOf({ runId: queuedRun, ownerId: user.id })
  )
  await markFailedOnFinalFailure(sql, failGrade, 'gradeId').onFinalFailure?.(
    err,
    jobOf({ gradeId: grade.id, ownerId: user.id })
  )
  await markFailedOnFinalFailure(sql, failExport, 'exportId').onFinalFailure?.(
    err,
    jobOf({ exportId: exported.id, ownerId: user.id })
  )
  for (const [table, id] of [
    ['simulation_runs', queuedRun],
    ['grade_reports', grade.id],
    ['report_exports', exported.id]
  ]) {
    const row = await state(table, id)
    t.equal(row.status, 'failed', `${table}: failed`)
    t.equal(row.error, err.message.slice(0, 500), `${table}: with the error, cut to 500 characters`)
    t.ok(row.completed_at, `${table}: and its end`)
  }

  await markFailedOnFinalFailure(sql, failRun, 'runId').onFinalFailure?.(
    err,
    jobOf({ runId: completedRun, ownerId: user.id })
  )
  t.match(await state('simulation_runs', completedRun), { status: 'completed', error: null }, 'a completed row stays')

  // A payload without a well-formed id writes nothing and throws nothing.
  let calls = 0
  const counted = async () => {
    calls++
  }
  for (const data of [null, {}, { runId: 42 }, { runId: 'not-a-uuid' }, { runId: queuedRun }])
    await markFailedOnFinalFailure(sql, counted, 'runId').onFinalFailure?.(err, jobOf(data))
  t.equal(calls, 0, 'a malformed payload is not looked up')
  await markFailedOnFinalFailure(sql, counted, 'runId').onFinalFailure?.(
    err,
    jobOf({ runId: queuedRun, ownerId: user.id })
  )
  t.equal(calls, 1, 'a well-formed one is')
  const failing = async () => {
    throw new Error('database gone')
  }
  await t.resolves(
    markFailedOnFinalFailure(sql, failing, 'runId').onFinalFailure?.(
      err,
      jobOf({ runId: queuedRun, ownerId: user.id })
    ) as Promise<void>,
    'a failing statement does not throw from the hook'
  )
})
