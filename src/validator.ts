import { AjvCompiler } from '@fastify/ajv-compiler'

const ajvCompilers = AjvCompiler()

/**
 * Querystring, params and headers arrive as strings and are coerced to their schema types;
 * a JSON body is validated as sent, so `{"name": 123}` is a 400, not "123".
 */
export function buildValidator(externalSchemas: unknown, ajvOptions: unknown) {
  const options = ajvOptions as { customOptions: Record<string, unknown> }
  const coercing = ajvCompilers(
    externalSchemas as never,
    {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: 'array' }
    } as never
  )
  const strict = ajvCompilers(
    externalSchemas as never,
    {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: false }
    } as never
  )
  return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict : coercing)(route as never)
}
