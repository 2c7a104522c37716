import type { Phase } from '../lib/context.ts'
import { classroom } from './classroom.ts'
import { database } from './database.ts'
import { engine } from './engine.ts'
import { jobs } from './jobs.ts'
import { overhead } from './overhead.ts'
import { profile } from './profile.ts'
import { rls } from './rls.ts'
import { timeToResult } from './time-to-result.ts'

/** The phases of `npm run bench`, in the order they run (`--only` picks some by name). */
export const PHASES: readonly Phase[] = [overhead, profile, database, rls, timeToResult, jobs, engine, classroom]
