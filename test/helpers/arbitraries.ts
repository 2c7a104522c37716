// fast-check arbitraries from JSON Schemas (the subset TypeBox emits), and the hostile values
// and mutations the fuzz scenario sends (reliability/scenarios/fuzz.ts).
import fc from 'fast-check'

export type Schema = Record<string, unknown>
export type Json = unknown

/** Valid values for a JSON Schema (the subset TypeBox emits). */
export function valid(schema: Schema | undefined, depth = 0): fc.Arbitrary<Json> {
  if (!schema || depth > 6) return fc.constant(null)
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as Json[]))
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (union) return fc.oneof(...union.map((s) => valid(s, depth + 1)))
  switch (schema.type) {
    case 'string':
      return validString(schema)
    case 'integer':
    case 'number': {
      const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? -1e6
      const max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? 1e6
      return schema.type === 'integer'
        ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
        : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      const items = valid(schema.items as Schema, depth + 1)
      const minLength = (schema.minItems as number | undefined) ?? 0
      return fc.array(items, {
        minLength,
        maxLength: Math.min((schema.maxItems as number | undefined) ?? 4, minLength + 4)
      })
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const required = new Set((schema.required ?? []) as string[])
      const record: Record<string, fc.Arbitrary<Json>> = {}
      for (const [key, sub] of Object.entries(properties)) record[key] = valid(sub, depth + 1)
      return fc.record(record, { requiredKeys: [...required].filter((k) => k in record) })
    }
    default:
      return fc.oneof(fc.string(), fc.integer(), fc.constant(null))
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0
  const maxLength = Math.min((schema.maxLength as number | undefined) ?? 40, minLength + 40)
  switch (schema.format) {
    case 'uuid':
      return fc.uuid()
    case 'email':
      return fc.emailAddress().filter((e) => e.length <= maxLength || !schema.maxLength)
    case 'date-time':
      return fc
        .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString())
  }
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= maxLength)
  }
  return fc.string({ minLength, maxLength, unit: 'grapheme' })
}

/** Hostile values, most of them invalid for any schema. */
export const hostile: fc.Arbitrary<Json> = fc.oneof(
  fc.constant('x'.repeat(100_000)),
  fc.constant('\uD800'),
  fc.constant('a\u0000b'),
  fc.constant(1e308),
  fc.constant(-1e308),
  fc.constant(2 ** 53 + 1),
  fc.constant(-0),
  fc.constant({ __proto__: { admin: true } }),
  fc.constant([[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]),
  fc.constant(''),
  fc.constant(null),
  fc.constant(true),
  fc.constant([]),
  fc.constant({}),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 })
)

/** A valid value with one part broken: a key replaced, added or removed, or the whole thing. */
export function mutated(base: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc.tuple(base, hostile, fc.string({ maxLength: 12 }), fc.nat()).map(([value, bad, key, pick]) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return bad
    const copy = { ...(value as Record<string, Json>) }
    const keys = Object.keys(copy)
    switch (pick % 3) {
      case 0:
        if (keys.length > 0) copy[keys[pick % keys.length]] = bad
        else copy[key || 'extra'] = bad
        break
      case 1:
        copy[key || 'extra'] = bad
        break
      default:
        if (keys.length > 0) delete copy[keys[pick % keys.length]]
        else return bad
    }
    return copy
  })
}

/** A JSON body nested 5000 deep: parsers and validators must refuse it, not overflow. */
export const DEEP = `${'['.repeat(5000)}${']'.repeat(5000)}`
