-- Exercise attempts (issue 37): a workspace tied to an exercise (src/exercises/*.json) with its
-- traffic fields locked, the hints revealed with their point cost, the submissions (the run and
-- the grade each one hands in) and a give-up. The classes issue builds assignments on these.
-- The app's role gets its privileges from the default privileges of 0027.

create table app.exercise_attempts (
  workspace_id uuid primary key references app.workspaces (id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  exercise_slug text not null,
  -- The traffic profile the attempt is held to: a PATCH may not change these fields.
  locked_traffic jsonb not null,
  hints_revealed integer not null default 0 check (hints_revealed >= 0),
  hint_points integer not null default 0 check (hint_points >= 0),
  given_up_at timestamptz,
  created_at timestamptz not null default now()
);
create index exercise_attempts_owner_idx on app.exercise_attempts (owner_id, exercise_slug, created_at desc);

create table app.exercise_hints (
  workspace_id uuid not null references app.exercise_attempts (workspace_id) on delete cascade,
  level integer not null check (level >= 1),
  points integer not null check (points >= 0),
  revealed_at timestamptz not null default now(),
  primary key (workspace_id, level)
);

-- A submission keeps its run and its grade: retention (jobs/maintenance.ts) never deletes a run a
-- submission refers to, and the foreign keys refuse it should anything try.
create table app.exercise_submissions (
  id uuid primary key,
  workspace_id uuid not null references app.exercise_attempts (workspace_id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  exercise_slug text not null,
  simulation_id uuid not null references app.simulation_runs (id),
  grade_id uuid not null references app.grade_reports (id),
  hint_points integer not null check (hint_points >= 0),
  submitted_at timestamptz not null default now()
);
create index exercise_submissions_workspace_idx on app.exercise_submissions (workspace_id, submitted_at desc);
create index exercise_submissions_owner_idx on app.exercise_submissions (owner_id, exercise_slug);
create index exercise_submissions_simulation_idx on app.exercise_submissions (simulation_id);
create index exercise_submissions_grade_idx on app.exercise_submissions (grade_id);

-- An attempt's grade carries its checks (before the rubric's items) and the hint points taken off.
alter table app.grade_reports
  add column checks jsonb,
  add column hint_points integer;
