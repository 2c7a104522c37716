import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorBody, errorBody, InvalidDesignError, toErrorBody, VersionConflictError } from './errors.ts'
import { pathOf } from './paths.ts'
import { type Problem, plainProblems, type SchemaError } from './validation-problems.ts'

// How the app answers what went wrong: the error table is src/errors.ts; these put it on the wire.

const SHED = 'APP_ERR_PREVIEW_BUSY'

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body: ErrorBody & Record<string, unknown> = { ...toErrorBody(err, request.id) }
  if (err instanceof InvalidDesignError) body.problems = err.problems
  const plain = (err as { problems?: Problem[] }).problems
  if (err.validation && Array.isArray(plain)) body.problems = plain
  if (err instanceof VersionConflictError) body.currentVersion = err.currentVersion
  // Load shed on purpose (every preview thread busy) is a warning, counted and alerted on; not a failure.
  if (body.code === SHED) request.log.warn({ code: body.code, statusCode: body.statusCode }, 'request shed')
  else if (body.statusCode >= 500) request.log.error({ err }, 'request failed')
  else request.log.info({ code: body.code, statusCode: body.statusCode }, 'request refused')
  const headers = (err as { headers?: Record<string, string> }).headers
  if (headers) reply.headers(headers)
  return reply.code(body.statusCode).send(body)
}

/**
 * Validation errors as one message (and, as `problems`, one plain sentence per field: see
 * validation-problems.ts), like Fastify's own (`body/name must …, …`), except that a
 * choice of values says what it accepts: a union of literals fails as one `const` error per
 * branch and then `anyOf` ("must be equal to constant" three times), and reads instead
 * `body/format must be one of: markdown, json, html`.
 */
export function formatSchemaErrors(errors: SchemaError[], dataVar: string): Error {
  const allowed = new Map<string, unknown[]>()
  for (const e of errors) {
    if (e.keyword === 'const')
      allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), e.params.allowedValue])
  }
  const choice = (values: unknown[]) => values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')
  const choices = new Set(
    errors.filter((e) => e.keyword === 'anyOf' && allowed.has(e.instancePath)).map((e) => e.instancePath)
  )
  const parts: string[] = []
  for (const e of errors) {
    const at = `${dataVar}${e.instancePath}`
    if (e.keyword === 'const' && choices.has(e.instancePath)) continue
    if (e.keyword === 'anyOf' && choices.has(e.instancePath))
      parts.push(`${at} must be one of: ${choice(allowed.get(e.instancePath) ?? [])}`)
    else if (e.keyword === 'const') parts.push(`${at} must be ${choice([e.params.allowedValue])}`)
    else if (e.keyword === 'enum') parts.push(`${at} must be one of: ${choice(e.params.allowedValues as unknown[])}`)
    else parts.push(`${at} ${e.message}`)
  }
  return Object.assign(new Error(parts.join(', ')), { problems: plainProblems(errors, dataVar) })
}

/** Fastify's router refusals (a malformed URL, an over-long path parameter), in this API's shape. */
const FRAMEWORK_ERRORS: Record<string, { statusCode: number; code: string; message: string }> = {
  FST_ERR_BAD_URL: { statusCode: 400, code: 'APP_ERR_BAD_URL', message: 'The URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: { statusCode: 414, code: 'APP_ERR_URI_TOO_LONG', message: 'A path parameter is too long' }
}

export function frameworkErrorHandler(
  headers: Readonly<Record<string, string>>
): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return function frameworkErrors(err, request, reply) {
    const known = FRAMEWORK_ERRORS[err.code]
    // These replies never pass the app's hooks, so they get its headers here.
    reply.headers(headers).header('x-request-id', request.id)
    if (!known) return errorHandler(err, request, reply)
    request.log.info({ code: known.code, statusCode: known.statusCode }, 'request refused')
    reply.code(known.statusCode).send(errorBody(known.statusCode, known.code, known.message, request.id))
  }
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .send(
      errorBody(404, 'APP_ERR_ROUTE_NOT_FOUND', `Route ${request.method} ${pathOf(request.url)} not found`, request.id)
    )
}
