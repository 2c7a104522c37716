import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { withContext } from '../../db/context.ts'
import { DerivationSchema } from '../../domain/explain-schemas.ts'
import type { Design, TrafficProfile } from '../../domain/model.ts'
import type { SimulationResult } from '../../domain/schemas.ts'
import { BadRequest, Conflict, NotFound } from '../../errors.ts'
import { ownedRunInputs } from '../../runs/runs.ts'
import { errorResponses, IdParams } from '../../schemas.ts'
import { acting } from '../context.ts'

// GET /simulations/:id/explain (issue 38): the working behind a run's figure, recomputed on an
// engine thread from the run's design, profile and seed (a run is deterministic with its seed).

const ExplainQuery = Type.Object(
  {
    component: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'a component of the run’s design' })
    ),
    figure: Type.Optional(Type.Literal('overall', { description: 'the end-to-end figures and the ceiling' }))
  },
  { additionalProperties: false }
)

const explainRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/simulations/:id/explain',
    {
      config: { auth: 'user', ownership: 'the run must belong to the caller, else 404' },
      schema: {
        tags: ['simulations'],
        params: IdParams,
        querystring: ExplainQuery,
        description:
          'How a figure of a completed run was computed, step by step: `?component=<id>` (λ and its sources, μ, c, ρ, waiting probability, wait, sojourn, how its p95 was obtained) or `?figure=overall` (the request paths and their weights, how the percentiles were drawn, the station that sets the ceiling). Recomputed on demand; nothing extra is stored.',
        response: { 200: DerivationSchema, ...errorResponses(400, 401, 404, 409, 422, 429, 503) }
      }
    },
    async (request) => {
      const { component, figure } = request.query
      const run = await withContext(fastify.sql, acting(request), (tx) =>
        ownedRunInputs(tx, request.params.id, request.user?.id as string)
      )
      if (!run) throw new NotFound('Simulation')
      if ((component === undefined) === (figure === undefined))
        throw new BadRequest('Ask for exactly one of ?component=<id> and ?figure=overall')
      if (run.status !== 'completed' || !run.result)
        throw new Conflict(`The simulation is ${run.status}; its figures can be explained once it has completed`)
      const design = run.design as Design
      const traffic = run.traffic as TrafficProfile
      const result = run.result as SimulationResult
      const derivation = await fastify.previews.explain(
        design,
        traffic,
        run.seed,
        component !== undefined ? { component } : { figure: 'overall', result }
      )
      if (!derivation) throw new NotFound('Component')
      return derivation as never
    }
  )
}

export default explainRoutes
