import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ProblemSchema, Uuid } from './domain/schemas.ts'

export { Uuid }

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
    problems: Type.Optional(
      Type.Array(ProblemSchema, {
        description: 'a refused request (400, 422): one plain sentence per field, with its JSON path in the body'
      })
    )
  },
  { additionalProperties: false }
)

/** The error responses a route can give, for its response schema. */
export function errorResponses<const C extends readonly number[]>(
  ...codes: C
): { [K in C[number]]: typeof ErrorResponse } {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponse])) as { [K in C[number]]: typeof ErrorResponse }
}

/**
 * A body schema whose every field is optional (`POST /simulations/:id/grade`, a simulation's
 * `{seed?}`): the body may be left out (`curl -X POST`) and then means the empty object. The
 * routes (a preValidation hook added to every such route) and the OpenAPI document
 * (`requestBody.required: false`) both follow this one rule.
 */
export function bodyMayBeOmitted(schema: unknown): boolean {
  const body = schema as { type?: unknown; required?: unknown[] } | undefined
  return body?.type === 'object' && (body.required?.length ?? 0) === 0
}

/**
 * No body at all is the empty object; a body that is there is validated as it is. (Callback
 * style, like the other hooks on request paths: no promise per request.)
 */
export function noBodyIsEmptyObject(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  if (request.body === undefined) request.body = {}
  done()
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * For a route that creates something (201) or accepts work (202): where the new resource is
     * read, as a path prefix (`/simulations/`). Its answer then carries `Location` (that prefix and
     * the new id), replays of an Idempotency-Key included, and the OpenAPI document says so.
     */
    location?: string
  }
}

/** Sets `Location` on a 201 or 202 answer of a route that declares `config.location`. */
export function setLocation(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, payload: unknown) => void
): void {
  const id = (payload as { id?: unknown } | null)?.id
  const prefix = request.routeOptions.config.location
  if (prefix && (reply.statusCode === 201 || reply.statusCode === 202) && typeof id === 'string')
    reply.header('location', `${prefix}${id}`)
  done(null, payload)
}
