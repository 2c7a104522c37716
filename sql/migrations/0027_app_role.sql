-- The api and the worker log in as a role that is no superuser, cannot bypass row-level security
-- and owns nothing (issue 31). Its privileges are sdc_app's, a role that cannot log in: granted
-- here on what exists, and through default privileges on every table a later migration (or
-- pg-boss's install, run by the same owner) creates. sql/roles.sql makes the login roles members.
-- A later table that must not be written (append-only, definer-kept) revokes what it must not
-- have in its own migration, as the audit log's grants below do.
do $$
declare
  wanted text;
begin
  foreach wanted in array array['sdc_app', 'sdc_readonly'] loop
    begin
      if not exists (select 1 from pg_catalog.pg_roles where rolname = wanted) then
        execute pg_catalog.format(
          'create role %I nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls', wanted
        );
      end if;
    exception when duplicate_object or unique_violation then
      -- Roles are cluster-wide: another database's migration created it at the same moment.
      null;
    end;
  end loop;
end
$$;

grant usage on schema app to sdc_app;
grant select, insert, update, delete on all tables in schema app to sdc_app;
grant usage, select on all sequences in schema app to sdc_app;
alter default privileges in schema app grant select, insert, update, delete on tables to sdc_app;
alter default privileges in schema app grant usage, select on sequences to sdc_app;
-- The daily telemetry partitions are sdc_definer's (0014).
alter default privileges for role sdc_definer in schema app
  grant select, insert, update, delete on tables to sdc_app;

-- Append-only: the app inserts an audit row's content; id, created_at and the chain come from the
-- database and the sealer (0011, 0014), and anchors are never rewritten (0016).
revoke insert, update, delete, truncate on app.audit_log from sdc_app;
grant insert (request_id, user_id, action, resource_type, resource_id, method, path, status_code, outcome,
              changes, ip_address, user_agent, trace_id) on app.audit_log to sdc_app;
revoke update, delete, truncate on app.audit_anchors from sdc_app;
-- Kept by definer triggers (0017, 0024): the app reads its users' totals but cannot lower one.
revoke insert, update, delete, truncate on app.user_run_counts, app.user_storage from sdc_app;
-- Readiness reads which migrations ran; only the owner records one.
revoke insert, update, delete, truncate on app.schema_migrations from sdc_app;

-- pg-boss's schema is installed by the owner at migrate time (npm run migrate), after this file:
-- made here, so that its tables get the default privileges too.
create schema if not exists pgboss;
grant usage on schema pgboss to sdc_app;
grant select, insert, update, delete on all tables in schema pgboss to sdc_app;
grant usage, select on all sequences in schema pgboss to sdc_app;
alter default privileges in schema pgboss grant select, insert, update, delete on tables to sdc_app;
alter default privileges in schema pgboss grant usage, select on sequences to sdc_app;
do $$
begin
  -- The maintenance job analyzes pgboss.job. MAINTAIN exists from PostgreSQL 17; before it only
  -- the owner analyzes (the app's ANALYZE is skipped with a warning and autovacuum does it).
  if pg_catalog.current_setting('server_version_num')::integer >= 170000 then
    execute 'grant maintain on all tables in schema pgboss to sdc_app';
    execute 'alter default privileges in schema pgboss grant maintain on tables to sdc_app';
  end if;
end
$$;

-- Grafana's dashboards read telemetry, the audit log, lockouts and jobs; nothing else.
grant usage on schema app, pgboss to sdc_readonly;
grant select on app.request_telemetry, app.job_telemetry, app.audit_log, app.login_lockouts to sdc_readonly;
grant select on all tables in schema pgboss to sdc_readonly;
alter default privileges in schema pgboss grant select on tables to sdc_readonly;
