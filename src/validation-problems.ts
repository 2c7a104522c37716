// A refused request's schema errors as plain sentences, one per field: `problems: [{ path, message }]`
// read from the schema itself (its `title`, its `x-unit`, its bounds), so an API consumer and the
// web app get the same words: "Peak traffic must be between 0.001 and 1 000 000 requests a second".

/** An Ajv error with `verbose: true` (the failing keyword's schema and its parent). */
export interface SchemaError {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
  parentSchema?: Record<string, unknown>
}

export interface Problem {
  path: string
  message: string
}

/** The annotation that names a number's unit ("requests a second", "ms"); Ajv is told it is one. */
export const UNIT_KEYWORD = 'x-unit'

/** What a part of the request is called when the problem is the whole of it. */
const WHOLE: Record<string, string> = {
  body: 'The request body',
  querystring: 'The query string',
  params: 'The URL',
  headers: 'The headers'
}

/** 1000000 → "1 000 000"; fractions as they are. */
export function plainNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const [whole, fraction] = String(value).split('.')
  if (/e/i.test(whole)) return whole
  const sign = whole.startsWith('-') ? '-' : ''
  const digits = sign ? whole.slice(1) : whole
  const grouped = digits.length > 4 ? digits.replace(/\B(?=(\d{3})+(?!\d))/g, ' ') : digits
  return `${sign}${grouped}${fraction ? `.${fraction}` : ''}`
}

/** "peakRps" → "Peak rps": a field without a title is named after its key. */
function humanise(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

const lastKey = (path: string) => path.split('/').filter(Boolean).at(-1)

/** A list of values as a person writes it: "a, b or c". */
function choice(values: unknown[]): string {
  const words = values.map((v) => (v === null ? 'empty (null)' : typeof v === 'string' ? v : JSON.stringify(v)))
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

/** A number schema's bounds in words: "between 1 and 10 ms", "above 0 and at most 1", "at least 3". */
function rangeOf(schema: Record<string, unknown>): string | null {
  const unit = typeof schema[UNIT_KEYWORD] === 'string' ? ` ${schema[UNIT_KEYWORD]}` : ''
  const min = schema.minimum as number | undefined
  const max = schema.maximum as number | undefined
  const above = schema.exclusiveMinimum as number | undefined
  const below = schema.exclusiveMaximum as number | undefined
  const whole = schema.type === 'integer' ? 'a whole number ' : ''
  if (min !== undefined && max !== undefined)
    return `${whole}between ${plainNumber(min)} and ${plainNumber(max)}${unit}`
  const parts = [
    min !== undefined ? `at least ${plainNumber(min)}` : null,
    above !== undefined ? `above ${plainNumber(above)}` : null,
    max !== undefined ? `at most ${plainNumber(max)}` : null,
    below !== undefined ? `below ${plainNumber(below)}` : null
  ].filter(Boolean)
  return parts.length > 0 ? `${whole}${parts.join(' and ')}${unit}` : null
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  integer: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'empty (null)'
}

const FORMAT_WORDS: Record<string, string> = {
  email: 'an email address',
  uuid: 'an id (a UUID)',
  'date-time': 'a date and time (ISO 8601, e.g. 2026-01-31T12:00:00Z)',
  date: 'a date (e.g. 2026-01-31)',
  uri: 'a URL'
}

/** One error's sentence, its subject already chosen. */
function sentence(subject: string, e: SchemaError): string {
  const schema = e.parentSchema ?? {}
  switch (e.keyword) {
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject} must be ${rangeOf(schema) ?? e.message}`
    case 'type': {
      const wanted = String(e.params.type).split(',')
      if (schema.type === 'integer' || schema.type === 'number') {
        const range = rangeOf(schema)
        if (range) return `${subject} must be ${range.startsWith('a whole') ? range : `a number ${range}`}`
      }
      return `${subject} must be ${choice(wanted.map((t) => TYPE_WORDS[t] ?? t)).replace(/^"|"$/g, '')}`
    }
    case 'multipleOf':
      return `${subject} must be a multiple of ${plainNumber(e.params.multipleOf as number)}`
    case 'minLength':
      return e.params.limit === 1
        ? `${subject} must not be empty`
        : `${subject} must be at least ${e.params.limit} characters long`
    case 'maxLength':
      return `${subject} must be at most ${plainNumber(e.params.limit as number)} characters long`
    case 'pattern':
      return e.params.pattern === '\\S' ? `${subject} must not be blank` : `${subject} is not in the accepted form`
    case 'format':
      return `${subject} must be ${FORMAT_WORDS[String(e.params.format)] ?? `in the ${e.params.format} format`}`
    case 'enum':
      return `${subject} must be one of: ${choice(e.params.allowedValues as unknown[])}`
    case 'const':
      return `${subject} must be ${choice([e.params.allowedValue])}`
    case 'minItems':
      return `${subject} must have at least ${e.params.limit} item${e.params.limit === 1 ? '' : 's'}`
    case 'maxItems':
      return `${subject} must have at most ${plainNumber(e.params.limit as number)} items`
    case 'minProperties':
      return `${subject} must have at least ${e.params.limit} field${e.params.limit === 1 ? '' : 's'}`
    case 'maxProperties':
      return `${subject} must have at most ${e.params.limit} fields`
    case 'uniqueItems':
      return `${subject} must not repeat an item`
    default:
      return `${subject} ${e.message ?? 'is not valid'}`
  }
}

/** Errors a union's branches report that say nothing (the null branch of a nullable field, the `anyOf` itself). */
function telling(errors: SchemaError[]): SchemaError[] {
  const nullable = errors.some((e) => e.keyword === 'type' && e.params.type === 'null')
  const rest = errors.filter(
    (e) => e.keyword !== 'anyOf' && !(nullable && e.keyword === 'type' && e.params.type === 'null')
  )
  // A choice of literals fails once per literal: one sentence names them all.
  const literals = rest.filter((e) => e.keyword === 'const')
  if (literals.length > 1)
    return [{ ...literals[0], keyword: 'enum', params: { allowedValues: literals.map((e) => e.params.allowedValue) } }]
  // A bound says more than "must be a number" when both are there.
  const bounded = rest.filter((e) => e.keyword !== 'type')
  return (bounded.length > 0 ? bounded : rest).slice(0, 1)
}

/**
 * One plain sentence per field the errors name. `dataVar` is the part of the request (`body`,
 * `querystring`, …); paths are JSON pointers into it.
 */
export function plainProblems(errors: SchemaError[], dataVar: string): Problem[] {
  const byPath = new Map<string, SchemaError[]>()
  for (const e of errors) {
    const field =
      e.keyword === 'required'
        ? `${e.instancePath}/${e.params.missingProperty}`
        : e.keyword === 'additionalProperties'
          ? `${e.instancePath}/${e.params.additionalProperty}`
          : e.instancePath
    byPath.set(field, [...(byPath.get(field) ?? []), e])
  }
  const problems: Problem[] = []
  for (const [path, group] of byPath) {
    const titled = group.find((e) => typeof e.parentSchema?.title === 'string' && e.keyword !== 'required')
    const key = lastKey(path)
    const first = group[0]
    if (first.keyword === 'required') {
      const properties = (first.parentSchema?.properties ?? {}) as Record<string, { title?: string }>
      const title = properties[String(first.params.missingProperty)]?.title ?? humanise(key ?? '')
      problems.push({ path, message: `${title} is required` })
      continue
    }
    if (first.keyword === 'additionalProperties') {
      problems.push({ path, message: `${WHOLE[dataVar] ?? 'The request'} has no field called “${key}”` })
      continue
    }
    const subject =
      (titled?.parentSchema?.title as string | undefined) ?? (key ? humanise(key) : (WHOLE[dataVar] ?? 'The request'))
    for (const e of telling(group)) problems.push({ path, message: sentence(subject, e) })
  }
  return problems
}
