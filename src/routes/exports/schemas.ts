import { Type } from 'typebox'
import { Uuid } from '../../schemas.ts'

export const Format = Type.Union([Type.Literal('markdown'), Type.Literal('json'), Type.Literal('html')])
export const Export = Type.Object(
  {
    id: Uuid,
    workspaceId: Uuid,
    format: Format,
    status: Type.Union([
      Type.Literal('queued'),
      Type.Literal('running'),
      Type.Literal('completed'),
      Type.Literal('failed')
    ]),
    filename: Type.Union([Type.String(), Type.Null()]),
    contentType: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  },
  { additionalProperties: false }
)

export const ExportLink = Type.Object(
  {
    url: Type.String({ description: 'path of a signed link to the report; add `&disposition=inline` to view it' }),
    expiresAt: Type.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
