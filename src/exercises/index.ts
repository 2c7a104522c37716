// The exercises (src/exercises/*.json, one a file), read and validated once per process and per
// catalogue: an exercise whose shape is wrong, or whose checks do not hold (src/domain/exercises.ts,
// validateExercise), does not load, and `refused` names it with its problems.
import { readdirSync, readFileSync } from 'node:fs'
import { Value } from 'typebox/value'
import { CATALOGUE, type Catalogue } from '../domain/components.ts'
import { type ExerciseDefinition, ExerciseDefinitionSchema, validateExercise } from '../domain/exercises.ts'

export interface ExerciseCatalogue {
  /** In their `order`. */
  list: readonly ExerciseDefinition[]
  bySlug: ReadonlyMap<string, ExerciseDefinition>
  /** One line per exercise that did not load, naming its file. */
  refused: readonly string[]
  /** How long reading and validating took (ms). */
  loadMs: number
}

const DIR = new URL('./', import.meta.url)
const loaded = new WeakMap<Catalogue, ExerciseCatalogue>()

/** Reads and validates the exercise files of `dir` (every `.json`). */
export function readExercises(dir: URL = DIR, catalogue: Catalogue = CATALOGUE): ExerciseCatalogue {
  const started = performance.now()
  const list: ExerciseDefinition[] = []
  const refused: string[] = []
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
  for (const file of files) {
    let data: unknown
    try {
      data = JSON.parse(readFileSync(new URL(file, dir), 'utf8'))
    } catch (err) {
      refused.push(`exercise ${file} not loaded: ${(err as Error).message}`)
      continue
    }
    if (!Value.Check(ExerciseDefinitionSchema, data)) {
      const first = [...Value.Errors(ExerciseDefinitionSchema, data)].slice(0, 3)
      refused.push(
        `exercise ${file} not loaded: ${first.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`
      )
      continue
    }
    const exercise = data as ExerciseDefinition
    if (`${exercise.slug}.json` !== file) {
      refused.push(`exercise ${file} not loaded: its slug "${exercise.slug}" is not its file name`)
      continue
    }
    if (list.some((e) => e.slug === exercise.slug || e.order === exercise.order)) {
      refused.push(`exercise ${file} not loaded: its slug or order is another exercise's`)
      continue
    }
    const problems = validateExercise(exercise, catalogue)
    if (problems.length > 0) {
      refused.push(`exercise ${exercise.slug} not loaded: ${problems.join('; ')}`)
      continue
    }
    list.push(exercise)
  }
  list.sort((a, b) => a.order - b.order)
  return {
    list,
    bySlug: new Map(list.map((e) => [e.slug, e])),
    refused,
    loadMs: Math.round(performance.now() - started)
  }
}

/** The repository's exercises for `catalogue`: validated on the first call, the same object after. */
export function exercises(catalogue: Catalogue = CATALOGUE): ExerciseCatalogue {
  let found = loaded.get(catalogue)
  if (!found) {
    found = readExercises(DIR, catalogue)
    loaded.set(catalogue, found)
  }
  return found
}
