-- Workspaces, traffic profiles, simulation runs, grades and report exports.
create table app.workspaces (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references app.users (id) on delete cascade,
  name text not null,
  description text not null default '',
  design jsonb not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index workspaces_owner_created_idx on app.workspaces (owner_id, created_at desc, id desc);

create table app.traffic_profiles (
  workspace_id uuid primary key references app.workspaces (id) on delete cascade,
  peak_rps double precision not null,
  read_ratio double precision not null,
  payload_kb double precision not null,
  latency_slo_ms double precision not null,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);

create table app.simulation_runs (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references app.workspaces (id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed')),
  design jsonb not null,
  traffic jsonb not null,
  seed integer not null,
  result jsonb,
  error text,
  job_id uuid,
  request_id text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz
);
create index simulation_runs_workspace_idx on app.simulation_runs (workspace_id, created_at desc, id desc);

create table app.grade_reports (
  id uuid primary key default gen_random_uuid(),
  simulation_id uuid not null references app.simulation_runs (id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed')),
  score integer,
  items jsonb,
  error text,
  job_id uuid,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
create index grade_reports_simulation_idx on app.grade_reports (simulation_id);

create table app.report_exports (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references app.workspaces (id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  format text not null check (format in ('markdown', 'json', 'html')),
  status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed')),
  content text,
  content_type text,
  filename text,
  error text,
  job_id uuid,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
create index report_exports_workspace_idx on app.report_exports (workspace_id, created_at desc);
