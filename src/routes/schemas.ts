import { Type } from 'typebox'

export const Uuid = Type.String({ format: 'uuid' })

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
    requestId: Type.String()
  },
  { additionalProperties: false }
)

/** The error responses a route can give, for its response schema. */
export function errorResponses<const C extends readonly number[]>(
  ...codes: C
): { [K in C[number]]: typeof ErrorResponse } {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponse])) as { [K in C[number]]: typeof ErrorResponse }
}
