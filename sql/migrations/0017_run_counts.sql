-- The stored-runs quota counted a user's runs on every enqueue: up to QUOTA_STORED_RUNS index
-- entries read while the user's advisory lock is held. Each user's count is kept here instead,
-- by statement-level triggers (one row change per statement, however many runs it touches:
-- a deleted workspace takes its runs with it in one cascade).
--
-- The counts are written only by the trigger functions, which run as sdc_definer: the app role
-- may read its users' counts but cannot lower one to buy itself room.

create table app.user_run_counts (
  owner_id uuid primary key references app.users (id) on delete cascade,
  stored integer not null default 0 check (stored >= 0)
);
alter table app.user_run_counts owner to sdc_definer;

insert into app.user_run_counts (owner_id, stored)
select owner_id, count(*)::int from app.simulation_runs group by owner_id;

grant select on app.user_run_counts to public;

create function app.count_added_runs() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into app.user_run_counts as c (owner_id, stored)
  select a.owner_id, pg_catalog.count(*)::integer from added a group by a.owner_id
  on conflict (owner_id) do update set stored = c.stored operator(pg_catalog.+) excluded.stored;
  return null;
end
$$;

create function app.count_removed_runs() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  update app.user_run_counts c
  set stored = c.stored operator(pg_catalog.-) r.n
  from (select d.owner_id, pg_catalog.count(*)::integer as n from removed d group by d.owner_id) r
  where c.owner_id operator(pg_catalog.=) r.owner_id;
  return null;
end
$$;

alter function app.count_added_runs() owner to sdc_definer;
alter function app.count_removed_runs() owner to sdc_definer;

create trigger simulation_runs_count_added
after insert on app.simulation_runs
referencing new table as added
for each statement execute function app.count_added_runs();

create trigger simulation_runs_count_removed
after delete on app.simulation_runs
referencing old table as removed
for each statement execute function app.count_removed_runs();

create function app.count_no_runs() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  update app.user_run_counts set stored = 0;
  return null;
end
$$;
alter function app.count_no_runs() owner to sdc_definer;

create trigger simulation_runs_count_truncated
after truncate on app.simulation_runs
for each statement execute function app.count_no_runs();
