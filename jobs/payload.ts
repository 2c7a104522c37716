import { PermanentJobError } from './telemetry.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Reads one uuid field of a job payload, lower-cased as Postgres prints it; anything else can never succeed, so it dead-letters. */
export function uuidField(data: unknown, field: string): string {
  const value = (data as Record<string, unknown> | null)?.[field]
  if (typeof value !== 'string' || !UUID.test(value)) throw new PermanentJobError(`payload.${field} must be a uuid`)
  return value.toLowerCase()
}
