// What a virtual learner does in the web app, as a table: the classroom phase's generator plays
// it (bench/lib/classroom-child.ts), the phase prices it, the self-model reads it and
// docs/benchmarks.md prints it. Rates are per learner and minute of a lesson.

/** One kind of learner action: what it sends, when, and how often. */
export interface ActionKind {
  /** What it sends, as the web app sends it. */
  requests: string
  /** When a learner does it. */
  when: string
  /** Whether a job runs behind it (its worker CPU is part of its cost). */
  job: boolean
}

export const ACTIONS = {
  signIn: { requests: 'POST /auth/login', when: 'once a lesson (45 minutes), at its start', job: false },
  open: {
    requests:
      'GET /exercises, POST /exercises/:slug/attempts (before the exercises were served: GET /workspaces, POST /workspaces), GET /workspaces/:id',
    when: 'an exercise every 15 minutes',
    job: false
  },
  autosave: {
    requests: 'PATCH /workspaces/:id {version, design}',
    when: 'each edit: think times between actions are exponential, mean 4 s',
    job: false
  },
  preview: { requests: 'POST /workspaces/:id/preview', when: '400 ms after each saved edit', job: false },
  simulate: {
    requests: 'POST /workspaces/:id/simulations, then GET /simulations/:id polled at 150 ms, ×1.5 up to 1 s',
    when: 'once a minute, instead of an edit',
    job: true
  },
  grade: {
    requests: 'POST /simulations/:id/grade, then GET /grades/:id polled as above',
    when: 'after one run in two',
    job: true
  },
  export: {
    requests: 'POST /workspaces/:id/exports {markdown}, GET /exports/:id polled, GET /exports/:id/content',
    when: 'every 10 minutes, instead of an edit',
    job: true
  },
  listRuns: { requests: 'GET /workspaces/:id/simulations', when: 'every 2 minutes, instead of an edit', job: false }
} as const satisfies Record<string, ActionKind>

export type ActionName = keyof typeof ACTIONS
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[]

/** The timetable the generator keeps (ms). */
export const PLAN = {
  thinkMs: 4000,
  previewAfterMs: 400,
  simulateEveryMs: 60_000,
  gradeShare: 0.5,
  exportEveryMs: 600_000,
  listRunsEveryMs: 120_000,
  openEveryMs: 900_000,
  lessonMs: 45 * 60_000,
  pollFirstMs: 150,
  pollFactor: 1.5,
  pollMaxMs: 1000
} as const

/**
 * Each action's nominal rate per learner-minute. Actions follow one another with a think time
 * before each; a due simulation, export, run list or exercise takes an edit's turn, so edits get
 * what is left of the 60 / 4 s = 15 turns a minute.
 */
export function nominalRates(plan: typeof PLAN = PLAN): Record<ActionName, number> {
  const minute = 60_000
  const simulate = minute / plan.simulateEveryMs
  const others = {
    signIn: minute / plan.lessonMs,
    open: minute / plan.openEveryMs,
    simulate,
    grade: simulate * plan.gradeShare,
    export: minute / plan.exportEveryMs,
    listRuns: minute / plan.listRunsEveryMs
  }
  const turns = minute / plan.thinkMs
  const edits = Math.max(0, turns - others.open - others.simulate - others.export - others.listRuns)
  return { ...others, autosave: edits, preview: edits }
}

/** The service levels a classroom is held to. */
export const SERVICE_LEVELS = {
  autosaveP95Ms: 100,
  previewP95Ms: 150,
  timeToResultP95Ms: 2000
} as const

/** The loopback address of learner `i` (0-based): 127.0.0.2, 127.0.0.3, …, then 127.0.1.0, … */
export function learnerAddress(i: number): string {
  const n = i + 2
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}

/** What the generator is asked to do. */
export type GeneratorCommand =
  | {
      type: 'signIn'
      urls: string[]
      learners: { email: string; password: string; address: string }[]
      concurrency: number
    }
  | {
      type: 'run'
      urls: string[]
      /** How many of the signed-in learners take part (the first `learners`). */
      learners: number
      /** Learners start over this span, then the measured window opens. */
      rampMs: number
      windowMs: number
      exercises: boolean
      /** The mean think time, if not the timetable's (a smoke run's windows are shorter than it). */
      thinkMs?: number
    }
  | {
      /**
       * Pricing one action: each learner gets ready (a workspace; a completed run to grade), then
       * all do `each` of it back to back, `thinkMs` apart; the window runs from the moment all are
       * ready until the last is done, so no action is cut off at either end.
       */
      type: 'price'
      urls: string[]
      learners: number
      only: ActionName
      each: number
      thinkMs: number
      exercises: boolean
    }

/** Latencies of one action kind within the measured window. */
export interface KindFigures {
  count: number
  p50: number
  p95: number
  p99: number
}

export interface GeneratorReport {
  /** The seconds the window lasted, and actions completed within it by kind. */
  windowSeconds: number
  actions: Partial<Record<ActionName, KindFigures>>
  requests: number
  /** Answers by class: 2xx, 4xx other than 429, 429, 5xx, and requests that got no answer. */
  statuses: { ok: number; clientError: number; limited: number; serverError: number; failed: number }
  /** The first few unexpected answers, for the log. */
  samples: string[]
}
