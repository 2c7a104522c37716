-- Assignments (issue 40): an exercise given to a class with an open and a due date, and the link
-- from a learner's attempt (a workspace) to it, under the same row-level security as 0028. And
-- policies on workspaces, runs and grades: under a user's context, their owner, or an instructor
-- of the class whose assignment the attempt belongs to (a personal workspace has no assignment).

create table app.assignments (
  organisation_id uuid not null,
  class_id uuid not null,
  id uuid not null,
  exercise_slug text not null,
  title text not null check (char_length(title) between 1 and 200),
  opens_at timestamptz not null,
  due_at timestamptz not null,
  hints_allowed boolean not null default true,
  -- The exercise's numbers times this (the same exercise at another scale), and what they became.
  scale numeric not null default 1 check (scale > 0 and scale <= 100),
  requirements jsonb,
  created_by uuid references app.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (organisation_id, id),
  unique (id),
  foreign key (organisation_id, class_id) references app.classes (organisation_id, id) on delete cascade,
  check (due_at > opens_at)
);
create index assignments_class_idx on app.assignments (organisation_id, class_id, due_at);

-- One attempt per learner and assignment: the workspace they work in.
create table app.assignment_attempts (
  organisation_id uuid not null,
  assignment_id uuid not null,
  user_id uuid not null references app.users (id) on delete cascade,
  workspace_id uuid not null unique references app.workspaces (id) on delete cascade,
  started_at timestamptz not null default now(),
  primary key (organisation_id, assignment_id, user_id),
  foreign key (organisation_id, assignment_id) references app.assignments (organisation_id, id) on delete cascade
);

grant select on app.assignments, app.assignment_attempts, app.simulation_runs to sdc_definer;

-- The caller's standing in an assignment's class: 'owner' (of the organisation), 'instructor',
-- 'learner' or null.
create function app.assignment_role(org uuid, assignment uuid) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select coalesce(
    (select 'owner'::text from app.organisation_members m
     where m.organisation_id operator(pg_catalog.=) org and m.user_id operator(pg_catalog.=) app.context_user()
       and m.role operator(pg_catalog.=) 'owner'),
    (select m.role from app.assignments a
     join app.class_members m on m.organisation_id operator(pg_catalog.=) a.organisation_id
                             and m.class_id operator(pg_catalog.=) a.class_id
     where a.organisation_id operator(pg_catalog.=) org and a.id operator(pg_catalog.=) assignment
       and m.user_id operator(pg_catalog.=) app.context_user()))
$$;

-- The workspace is an attempt at an assignment of a class the caller instructs (or whose
-- organisation they own), in the organisation the transaction is narrowed to, if any.
create function app.instructs_workspace(ws uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (
    select 1 from app.assignment_attempts a
    where a.workspace_id operator(pg_catalog.=) ws
      and app.in_context(a.organisation_id)
      and app.assignment_role(a.organisation_id, a.assignment_id) operator(pg_catalog.=) any (array['owner', 'instructor']))
$$;

create function app.instructs_run(run uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select coalesce((select app.instructs_workspace(r.workspace_id) from app.simulation_runs r
                   where r.id operator(pg_catalog.=) run), false)
$$;

alter function app.assignment_role(uuid, uuid) owner to sdc_definer;
alter function app.instructs_workspace(uuid) owner to sdc_definer;
alter function app.instructs_run(uuid) owner to sdc_definer;

alter table app.assignments enable row level security;
alter table app.assignments force row level security;
alter table app.assignment_attempts enable row level security;
alter table app.assignment_attempts force row level security;

create policy definer_reads on app.assignments for select to sdc_definer using (true);
create policy definer_reads on app.assignment_attempts for select to sdc_definer using (true);

-- Assignments: the class reads them; its instructors and the organisation's owners write them.
create policy class_reads on app.assignments for select
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) is not null));
create policy instructors_write on app.assignments for all
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'))
  with check (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'));

-- Attempts: a learner reads and starts their own (a member of the class, once it is open);
-- the class's instructors and the organisation's owners read all and may delete one.
create policy own_attempt on app.assignment_attempts for select
  using (app.in_context(organisation_id) and user_id = app.context_user());
create policy staff_read on app.assignment_attempts for select
  using (app.in_context(organisation_id)
         and app.assignment_role(organisation_id, assignment_id) = any (array['owner', 'instructor']));
create policy learner_starts on app.assignment_attempts for insert
  with check (app.in_context(organisation_id) and user_id = app.context_user()
              and app.assignment_role(organisation_id, assignment_id) is not null);
create policy staff_delete on app.assignment_attempts for delete
  using (app.in_context(organisation_id)
         and app.assignment_role(organisation_id, assignment_id) = any (array['owner', 'instructor']));

-- Workspaces, runs and grades. Under a user's context: their owner's, and an instructor reads an
-- attempt of their class's assignment (never a learner's personal workspace). A transaction
-- without a user context (the workspace routes, which check ownership in their own `where`, and
-- the workers' and maintenance's system work) keeps today's reach: see docs/security.md.
alter table app.workspaces enable row level security;
alter table app.workspaces force row level security;
alter table app.simulation_runs enable row level security;
alter table app.simulation_runs force row level security;
alter table app.grade_reports enable row level security;
alter table app.grade_reports force row level security;

create policy definer_reads on app.simulation_runs for select to sdc_definer using (true);

-- One policy per command, so that the cheap tests run first (a transaction without a user context
-- never calls the definer function).
create policy reach on app.workspaces for select
  using (app.context_user() is null or owner_id = app.context_user() or app.instructs_workspace(id));
create policy own_insert on app.workspaces for insert with check (app.context_user() is null or owner_id = app.context_user());
create policy own_update on app.workspaces for update using (app.context_user() is null or owner_id = app.context_user()) with check (app.context_user() is null or owner_id = app.context_user());
create policy own_delete on app.workspaces for delete using (app.context_user() is null or owner_id = app.context_user());

create policy reach on app.simulation_runs for select
  using (app.context_user() is null or owner_id = app.context_user() or app.instructs_workspace(workspace_id));
create policy own_insert on app.simulation_runs for insert with check (app.context_user() is null or owner_id = app.context_user());
create policy own_update on app.simulation_runs for update using (app.context_user() is null or owner_id = app.context_user()) with check (app.context_user() is null or owner_id = app.context_user());
create policy own_delete on app.simulation_runs for delete using (app.context_user() is null or owner_id = app.context_user());

create policy reach on app.grade_reports for select
  using (app.context_user() is null or owner_id = app.context_user() or app.instructs_run(simulation_id));
create policy own_insert on app.grade_reports for insert with check (app.context_user() is null or owner_id = app.context_user());
create policy own_update on app.grade_reports for update using (app.context_user() is null or owner_id = app.context_user()) with check (app.context_user() is null or owner_id = app.context_user());
create policy own_delete on app.grade_reports for delete using (app.context_user() is null or owner_id = app.context_user());
