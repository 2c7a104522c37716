-- The cluster's roles for System Design Coach. Run as a superuser (or a role with CREATEROLE that
-- may grant these roles); roles are cluster-wide, so run it once per cluster, and again at will:
-- every step is idempotent and tolerates a concurrent run. Passwords are set apart (RUNBOOK).
--   sdc_owner      logs in for `npm run migrate` only (DATABASE_OWNER_URL): owns the database,
--                  its schemas and tables, and installs pg-boss's schema
--   sdc_app_login  the api's and the worker's login (DATABASE_URL): no superuser, no BYPASSRLS,
--                  owns nothing; it holds sdc_app's privileges, which migration 0027 grants
--   sdc_grafana    Grafana's login: sdc_readonly's privileges (select on the dashboards' tables)
--   sdc_backup     pg_dump's login (BACKUP_URL): BYPASSRLS, so a dump holds every row of the
--                  tables under row-level security; reads only (pg_read_all_data, read-only
--                  transactions). Creating a BYPASSRLS role takes a superuser.
--   sdc_definer    owns the SECURITY DEFINER functions (migration 0014); sdc_app, sdc_readonly:
--                  hold privileges. None of these three can log in; the migrations create them too
--                  when the owner may create roles.
do $$
declare
  wanted record;
begin
  for wanted in
    select r.name, r.options
    from (values
      ('sdc_definer', 'nologin nosuperuser nocreatedb nocreaterole noinherit'),
      ('sdc_app', 'nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls'),
      ('sdc_readonly', 'nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls'),
      ('sdc_owner', 'login nosuperuser nocreatedb nocreaterole noreplication nobypassrls'),
      ('sdc_app_login', 'login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit'),
      ('sdc_grafana', 'login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit'),
      ('sdc_backup', 'login nosuperuser nocreatedb nocreaterole noreplication bypassrls inherit')
    ) as r(name, options)
  loop
    begin
      if not exists (select 1 from pg_catalog.pg_roles where rolname = wanted.name) then
        execute pg_catalog.format('create role %I %s', wanted.name, wanted.options);
      end if;
    exception when duplicate_object or unique_violation then
      -- Another database's migration or another run of this script created it at the same moment.
      null;
    end;
  end loop;
end
$$;
-- Migration 0014 hands its functions to sdc_definer: an owner that is no superuser must be able to
-- act as it (and, inheriting, to grant on the telemetry tables it owns).
grant sdc_definer to sdc_owner;
grant sdc_app to sdc_app_login;
grant sdc_readonly to sdc_grafana;
grant pg_read_all_data to sdc_backup;
alter role sdc_backup set default_transaction_read_only = on;
