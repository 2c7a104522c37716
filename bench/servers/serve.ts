// A server under test, in a process of its own: `BENCH_SERVER=bare|boilerplate|full`. Prints
// `{"address": …}` once listening; SIGTERM closes it. The full stack gets the bench's own routes
// beside the product's (a trivial public and authenticated route, and the database variants).
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { JOBS } from '../../jobs/registry.ts'
import { buildApp } from '../../src/app.ts'
import { loadConfigOrExit } from '../../src/config.ts'
import type { TransactionSql } from '../../src/db/client.ts'
import { withContext } from '../../src/db/context.ts'
import { NotFound } from '../../src/errors.ts'
import { uuidv7 } from '../../src/ids.ts'
import { acting } from '../../src/routes/context.ts'
import { checkRunQuota } from '../../src/routes/quotas.ts'
import { insertRun } from '../../src/runs/runs.ts'
import { startTracingFromConfig } from '../../src/tracing.ts'
import { ownedWorkspace, toWorkspace, trafficSnapshot } from '../../src/workspaces/store.ts'

const kind = process.env.BENCH_SERVER
const ORIGIN = 'http://localhost:3000'

/** What a team would write in an afternoon: helmet with defaults, cors, rate-limit, @fastify/jwt. */
async function boilerplate(): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register((await import('@fastify/helmet')).default)
  await app.register((await import('@fastify/cors')).default, { origin: [ORIGIN] })
  await app.register((await import('@fastify/rate-limit')).default, { max: 1_000_000_000, timeWindow: 60_000 })
  await app.register((await import('@fastify/jwt')).default, { secret: process.env.JWT_SECRET as string })
  app.get('/bench/ping', async () => ({ ok: true }))
  app.get('/bench/me', { onRequest: (request) => request.jwtVerify() }, async (request) => ({
    id: (request.user as unknown as { sub: string }).sub
  }))
  // Tokens of the same shape as the project's (sub, role), signed by this server.
  app.post('/bench/token', async (request) => ({
    token: app.jwt.sign({ sub: (request.body as { sub: string }).sub, role: 'user' }, { expiresIn: '1h' })
  }))
  return app
}

async function full(): Promise<FastifyInstance> {
  const config = loadConfigOrExit()
  // As src/server.ts does: traced when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans flushed on close.
  const tracing = startTracingFromConfig(config.tracing, 'api')
  const app = await buildApp(config, { applicationName: 'sdc-bench-api', queues: JOBS })
  if (tracing) app.addHook('onClose', () => tracing.shutdown())
  app.get('/bench/ping', { config: { auth: 'public' } }, async () => ({ ok: true }))
  app.get('/bench/me', { config: { auth: 'user' } }, async (request) => ({ id: request.user?.id }))
  // The enqueue route without its job: the same ownership check, quota check, snapshot, run row,
  // audit row and idempotency record in the same statements; no pg-boss row, no telemetry row,
  // no wake-up.
  app.post(
    '/bench/simulations-without-job/:id',
    {
      config: {
        auth: 'user',
        idempotent: true,
        audit: { action: 'bench.simulation', resourceType: 'simulation' }
      }
    },
    async (request, reply) => {
      const id = uuidv7()
      const accepted = await withContext(app.sql, acting(request), async (tx) => {
        const workspace = await ownedWorkspace(tx, request, (request.params as { id: string }).id)
        await checkRunQuota(tx, workspace.owner_id, app.config.quotas)
        const traffic = await trafficSnapshot(tx, workspace.id)
        const body = { id, status: 'queued' as const }
        const audit = request.audit(tx, { resourceId: id, statusCode: 202, changes: { workspaceId: workspace.id } })
        await Promise.all([
          insertRun(tx, audit, {
            id,
            workspaceId: workspace.id,
            ownerId: workspace.owner_id,
            design: workspace.design,
            traffic,
            seed: 1,
            requestId: request.id
          }),
          request.idempotent(tx, 202, body)
        ])
        return body
      })
      return reply.code(202).send(accepted)
    }
  )
  // A write with its audit row (as the product's routes write it), without, and with one trivial
  // statement beside it; each in a transaction acting for the caller (row-level security).
  const write =
    (extra: 'audit' | 'select' | null, context = true) =>
    async (request: FastifyRequest) => {
      const id = (request.params as { id: string }).id
      const work = async (tx: TransactionSql) => {
        const audit = extra === 'audit' ? tx`with audit_row as (${request.audit(tx, { resourceId: id })})` : tx``
        const update = tx`${audit} update app.workspaces set name = 'bench', updated_at = now() where id = ${id} and owner_id = ${request.user?.id as string} returning id`
        const [done] = extra === 'select' ? await Promise.all([update, tx`select 1`]) : [await update]
        if (done.length !== 1) throw new NotFound('Workspace')
      }
      await (context ? withContext(app.sql, acting(request), work) : app.sql.begin(work))
      // Every POST declares an action; only the audited variants write a row.
      if (extra !== 'audit') request.audited = true
      return { ok: true }
    }
  const writeConfig = { auth: 'user' as const, audit: { action: 'bench.write', resourceType: 'workspace' } }
  app.post('/bench/write-audited/:id', { config: writeConfig }, write('audit'))
  app.post('/bench/write-plain/:id', { config: writeConfig }, write(null))
  app.post('/bench/write-select/:id', { config: writeConfig }, write('select'))
  // Row-level security's cost (the rls phase): the audited write and the authenticated read as
  // they were before the policies were the authority — no SET LOCAL, the read a single statement
  // outside a transaction. They answer only on a server whose DATABASE_URL role has BYPASSRLS (the
  // phase starts one): on the app's own role they find nothing (404).
  app.post('/bench/write-audited-without-rls/:id', { config: writeConfig }, write('audit', false))
  app.get('/bench/read-without-rls/:id', { config: { auth: 'user' } }, async (request) =>
    toWorkspace(await ownedWorkspace(app.sql, request, (request.params as { id: string }).id))
  )
  return app
}

async function bare(): Promise<FastifyInstance> {
  const app = Fastify()
  app.get('/bench/ping', async () => ({ ok: true }))
  return app
}

const builders: Record<string, () => Promise<FastifyInstance>> = { bare, boilerplate, full }
if (!kind || !builders[kind]) throw new Error(`BENCH_SERVER must be one of ${Object.keys(builders).join(', ')}`)
const app = await builders[kind]()
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ address })}\n`)
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
