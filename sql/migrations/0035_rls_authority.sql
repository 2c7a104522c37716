-- The policies on workspaces, runs and grades become the authority (issue 40). Until now
-- (0032) a transaction without a user context kept today's reach, so the routes, the workers and
-- maintenance could run without one. Now no user, no rows: every path sets its user (and
-- organisation) with SET LOCAL (src/db/context.ts). The system work that acts for no user goes
-- through SECURITY DEFINER functions owned by sdc_definer, each doing exactly one bounded thing:
-- retention's deletion of surplus runs, and a share link's read, keyed by its token's hash.

drop policy reach on app.workspaces;
drop policy own_insert on app.workspaces;
drop policy own_update on app.workspaces;
drop policy own_delete on app.workspaces;
drop policy reach on app.simulation_runs;
drop policy own_insert on app.simulation_runs;
drop policy own_update on app.simulation_runs;
drop policy own_delete on app.simulation_runs;
drop policy reach on app.grade_reports;
drop policy own_insert on app.grade_reports;
drop policy own_update on app.grade_reports;
drop policy own_delete on app.grade_reports;

-- Under a user's context: their own rows; an instructor (or the organisation's owner) reads an
-- attempt at an assignment of their class. Without one: nothing (owner_id = null is never true).

create policy reach on app.workspaces for select
  using (owner_id = app.context_user() or app.instructs_workspace(id));
create policy own_insert on app.workspaces for insert with check (owner_id = app.context_user());
create policy own_update on app.workspaces for update
  using (owner_id = app.context_user()) with check (owner_id = app.context_user());
create policy own_delete on app.workspaces for delete using (owner_id = app.context_user());

create policy reach on app.simulation_runs for select
  using (owner_id = app.context_user() or app.instructs_workspace(workspace_id));
create policy own_insert on app.simulation_runs for insert with check (owner_id = app.context_user());
create policy own_update on app.simulation_runs for update
  using (owner_id = app.context_user()) with check (owner_id = app.context_user());
create policy own_delete on app.simulation_runs for delete using (owner_id = app.context_user());

create policy reach on app.grade_reports for select
  using (owner_id = app.context_user() or app.instructs_run(simulation_id));
create policy own_insert on app.grade_reports for insert with check (owner_id = app.context_user());
create policy own_update on app.grade_reports for update
  using (owner_id = app.context_user()) with check (owner_id = app.context_user());
create policy own_delete on app.grade_reports for delete using (owner_id = app.context_user());

-- sdc_definer reads these three (its functions below read nothing else of them) and deletes runs
-- (retention's function only). It cannot log in; only the functions it owns act as it.
grant select on app.workspaces, app.grade_reports, app.exercise_submissions, app.workspace_shares,
  app.traffic_profiles to sdc_definer;
grant delete on app.simulation_runs to sdc_definer;
create policy definer_reads on app.workspaces for select to sdc_definer using (true);
create policy definer_reads on app.grade_reports for select to sdc_definer using (true);
create policy definer_deletes on app.simulation_runs for delete to sdc_definer using (true);

-- Retention: each workspace's finished runs past its newest `keep`, except a run a grade or an
-- exercise submission refers to; at most `batch` (1..10000) a call. How many went.
create function app.delete_surplus_runs(keep integer, batch integer) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
  gone integer;
begin
  if keep is null or keep < 1 or batch is null or batch < 1 or batch > 10000 then
    raise exception 'delete_surplus_runs: keep must be at least 1 and batch 1..10000' using errcode = '22023';
  end if;
  delete from app.simulation_runs
  where id in (
    select r.id
    from (
      select s.id, pg_catalog.row_number() over (partition by s.workspace_id order by s.created_at desc, s.id desc) as newest
      from app.simulation_runs s
      where s.status operator(pg_catalog.=) any (array['completed', 'failed'])
    ) r
    where r.newest operator(pg_catalog.>) keep
      and not exists (select 1 from app.grade_reports g where g.simulation_id operator(pg_catalog.=) r.id)
      and not exists (select 1 from app.exercise_submissions x where x.simulation_id operator(pg_catalog.=) r.id)
    limit batch
  );
  get diagnostics gone = row_count;
  return gone;
end
$$;

-- A share link, read without a session: the workspace of a live link (unrevoked, unexpired),
-- keyed by the SHA-256 of its token; its latest completed run; and that run's latest completed
-- grade. Nothing else of the owner's is in reach.
create function app.shared_workspace(token_hash text) returns setof app.workspaces
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select w.* from app.workspace_shares s
  join app.workspaces w on w.id operator(pg_catalog.=) s.workspace_id
  where s.token_hash operator(pg_catalog.=) shared_workspace.token_hash
    and s.revoked_at is null and s.expires_at operator(pg_catalog.>) pg_catalog.now()
$$;

create function app.shared_latest_run(token_hash text) returns setof app.simulation_runs
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select r.* from app.shared_workspace(shared_latest_run.token_hash) w
  join app.simulation_runs r on r.workspace_id operator(pg_catalog.=) w.id
  where r.status operator(pg_catalog.=) 'completed'
  order by r.completed_at desc
  limit 1
$$;

create function app.shared_latest_grade(token_hash text) returns setof app.grade_reports
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select g.* from app.shared_latest_run(shared_latest_grade.token_hash) r
  join app.grade_reports g on g.simulation_id operator(pg_catalog.=) r.id
  where g.status operator(pg_catalog.=) 'completed'
  order by g.completed_at desc
  limit 1
$$;

alter function app.delete_surplus_runs(integer, integer) owner to sdc_definer;
alter function app.shared_workspace(text) owner to sdc_definer;
alter function app.shared_latest_run(text) owner to sdc_definer;
alter function app.shared_latest_grade(text) owner to sdc_definer;
revoke all on function app.delete_surplus_runs(integer, integer) from public;
revoke all on function app.shared_workspace(text), app.shared_latest_run(text), app.shared_latest_grade(text) from public;
grant execute on function app.delete_surplus_runs(integer, integer) to sdc_app;
grant execute on function app.shared_workspace(text), app.shared_latest_run(text), app.shared_latest_grade(text) to sdc_app;
