-- What each user stores (workspaces, runs and exports), in bytes, for the storage quota
-- (QUOTA_STORAGE_BYTES). Kept by statement-level triggers like the run counts (0017): a write
-- never sums a user's history, and only the trigger functions (running as sdc_definer) write the
-- totals, so the app role cannot lower one to buy itself room.
--
-- A row's bytes are its values' sizes as text, uncompressed: the same figure whether a value is
-- still in a trigger's transition table or compressed on disk (pg_column_size is not), and what an
-- export of the data weighs.

create table app.user_storage (
  owner_id uuid primary key references app.users (id) on delete cascade,
  bytes bigint not null default 0
);
alter table app.user_storage owner to sdc_definer;
grant select on app.user_storage to public;

-- What a row stores: its design, traffic, result, content, name and description, as text.
create function app.stored_bytes(r jsonb) returns bigint
language sql immutable set search_path = pg_catalog, pg_temp as $$
  select coalesce(pg_catalog.sum(pg_catalog.octet_length(r operator(pg_catalog.->>) k)), 0)::bigint
  from pg_catalog.unnest(array['design', 'traffic', 'result', 'content', 'name', 'description']) k
$$;

-- Adds (or, negative, removes) bytes per owner; only the trigger below calls it.
create function app.storage_add(changes jsonb) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into app.user_storage as s (owner_id, bytes)
  select (c operator(pg_catalog.->>) 'owner_id')::uuid, (c operator(pg_catalog.->>) 'bytes')::bigint
  from pg_catalog.jsonb_array_elements(changes) c
  where (c operator(pg_catalog.->>) 'bytes')::bigint operator(pg_catalog.<>) 0
  on conflict (owner_id) do update set bytes = s.bytes operator(pg_catalog.+) excluded.bytes;
end
$$;
alter function app.storage_add(jsonb) owner to sdc_definer;
revoke all on function app.storage_add(jsonb) from public;

-- One trigger function for the three tables: what a statement added, less what it removed.
create function app.count_storage() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  changes jsonb;
begin
  if tg_op operator(pg_catalog.<>) 'DELETE' then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('owner_id', owner_id, 'bytes', b)) into changes
    from (select n.owner_id, pg_catalog.sum(app.stored_bytes(pg_catalog.to_jsonb(n))) as b from added n group by 1) x;
    if changes is not null then perform app.storage_add(changes); end if;
  end if;
  if tg_op operator(pg_catalog.<>) 'INSERT' then
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('owner_id', owner_id, 'bytes', operator(pg_catalog.-) b))
    into changes
    from (select o.owner_id, pg_catalog.sum(app.stored_bytes(pg_catalog.to_jsonb(o))) as b from removed o group by 1) x;
    if changes is not null then perform app.storage_add(changes); end if;
  end if;
  return null;
end
$$;
alter function app.count_storage() owner to sdc_definer;

create trigger workspaces_storage_added after insert on app.workspaces
referencing new table as added for each statement execute function app.count_storage();
create trigger workspaces_storage_changed after update on app.workspaces
referencing new table as added old table as removed for each statement execute function app.count_storage();
create trigger workspaces_storage_removed after delete on app.workspaces
referencing old table as removed for each statement execute function app.count_storage();

create trigger simulation_runs_storage_added after insert on app.simulation_runs
referencing new table as added for each statement execute function app.count_storage();
create trigger simulation_runs_storage_changed after update on app.simulation_runs
referencing new table as added old table as removed for each statement execute function app.count_storage();
create trigger simulation_runs_storage_removed after delete on app.simulation_runs
referencing old table as removed for each statement execute function app.count_storage();

create trigger report_exports_storage_added after insert on app.report_exports
referencing new table as added for each statement execute function app.count_storage();
create trigger report_exports_storage_changed after update on app.report_exports
referencing new table as added old table as removed for each statement execute function app.count_storage();
create trigger report_exports_storage_removed after delete on app.report_exports
referencing old table as removed for each statement execute function app.count_storage();

insert into app.user_storage (owner_id, bytes)
select owner_id, pg_catalog.sum(b)::bigint
from (
  select w.owner_id, app.stored_bytes(pg_catalog.to_jsonb(w)) as b from app.workspaces w
  union all
  select r.owner_id, app.stored_bytes(pg_catalog.to_jsonb(r)) from app.simulation_runs r
  union all
  select e.owner_id, app.stored_bytes(pg_catalog.to_jsonb(e)) from app.report_exports e
) s
group by owner_id;

-- Retention keeps every run a grade refers to: the maintenance job finds them by this index.
create index if not exists grade_reports_simulation_idx on app.grade_reports (simulation_id);
create index simulation_runs_workspace_completed_idx on app.simulation_runs (workspace_id, created_at desc)
  where status in ('completed', 'failed');
create index report_exports_created_idx on app.report_exports (created_at);
create index refresh_tokens_family_expires_idx on app.refresh_tokens (family_expires_at);
