-- SECURITY DEFINER functions ran as the migration's owner (often a superuser) with `app` on
-- their search_path, so a role allowed to CREATE in `app` could plant an exact-type overload
-- (say app.cardinality(bigint[])) that the definer resolved first, and run code as the owner.
-- Now every definer function:
-- * is owned by sdc_definer, a role that cannot log in, is no superuser and owns only what the
--   functions need (the audit log's sealing columns through grants, the telemetry tables whose
--   daily partitions it creates and drops);
-- * runs with search_path = pg_catalog, pg_temp (pg_temp is never searched for functions or
--   operators) and names every table and function of `app` in full;
-- * takes no identifier from its caller.
-- So the app role needs no CREATE on `app` (RUNBOOK: "Running under a role that cannot rewrite
-- the audit log"). The migration runner refuses a definer function without that search_path.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'sdc_definer') then
    create role sdc_definer nologin nosuperuser nocreatedb nocreaterole noinherit;
  end if;
exception when duplicate_object or unique_violation then
  -- Roles are cluster-wide: another database's migration created it at the same moment.
  null;
end
$$;

do $$
begin
  -- Changing an owner needs membership of the new owner's role, unless one is a superuser.
  if not (select rolsuper from pg_catalog.pg_roles where rolname = current_user)
     and not pg_catalog.pg_has_role(current_user, 'sdc_definer', 'member') then
    execute pg_catalog.format('grant sdc_definer to %I', current_user);
  end if;
end
$$;

grant usage on schema app to sdc_definer;
grant select, update (chain_seq, prev_hash, hash) on app.audit_log to sdc_definer;

create or replace function app.seal_audit_log(max_rows integer) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  last_hash text;
  last_seq bigint;
  r app.audit_log;
  ids bigint[] := '{}';
  prev_hashes text[] := '{}';
  hashes text[] := '{}';
begin
  if not pg_catalog.pg_try_advisory_xact_lock(7346201002) then
    return 0;
  end if;
  select a.hash, a.chain_seq into last_hash, last_seq
  from app.audit_log a
  where a.chain_seq is not null
  order by a.chain_seq desc
  limit 1;
  last_hash := coalesce(last_hash, pg_catalog.repeat('0', 64));
  last_seq := coalesce(last_seq, 0);
  for r in
    select * from app.audit_log a where a.chain_seq is null order by a.id limit max_rows
  loop
    ids := pg_catalog.array_append(ids, r.id);
    prev_hashes := pg_catalog.array_append(prev_hashes, last_hash);
    last_hash := app.audit_hash(last_hash, r);
    hashes := pg_catalog.array_append(hashes, last_hash);
  end loop;
  update app.audit_log a
  set chain_seq = last_seq + u.n, prev_hash = u.prev_hash, hash = u.hash
  from unnest(ids, prev_hashes, hashes) with ordinality as u(id, prev_hash, hash, n)
  where a.id = u.id;
  return pg_catalog.cardinality(ids);
end
$$;
alter function app.seal_audit_log(integer) owner to sdc_definer;

-- The hash the sealer computes names its functions in full too (it runs with the sealer's path).
create or replace function app.audit_hash(prev_hash text, r app.audit_log) returns text
language sql stable as $$
  select pg_catalog.encode(
    pg_catalog.sha256(pg_catalog.convert_to(prev_hash operator(pg_catalog.||) '|' operator(pg_catalog.||) app.audit_canonical(r), 'UTF8')),
    'hex'
  )
$$;

-- The telemetry tables and their partitions belong to sdc_definer, which alone creates and drops
-- partitions, for days the caller names (a date and a count, never a table name).
do $$
declare
  t record;
begin
  for t in
    select c.relname
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'app'
      and c.relkind in ('r', 'p')
      and (c.relname in ('request_telemetry', 'job_telemetry') or c.relname ~ '^(request|job)_telemetry_\d{8}$')
  loop
    execute pg_catalog.format('alter table app.%I owner to sdc_definer', t.relname);
  end loop;
end
$$;
grant create on schema app to sdc_definer;

create or replace function app.ensure_telemetry_partitions(from_day date, days integer) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  made integer := 0;
  day date;
  parent text;
  name text;
begin
  if days < 0 or days > 60 then
    raise exception 'days must be from 0 to 60' using errcode = 'invalid_parameter_value';
  end if;
  for i in 0 .. days - 1 loop
    day := from_day + i;
    foreach parent in array array['request_telemetry', 'job_telemetry'] loop
      name := parent || '_' || pg_catalog.to_char(day, 'YYYYMMDD');
      if pg_catalog.to_regclass('app.' || name) is null then
        execute pg_catalog.format(
          'create table app.%I partition of app.%I for values from (%L) to (%L)',
          name, parent, (day::timestamp at time zone 'UTC'), ((day + 1)::timestamp at time zone 'UTC')
        );
        made := made + 1;
      end if;
    end loop;
  end loop;
  return made;
end
$$;
alter function app.ensure_telemetry_partitions(date, integer) owner to sdc_definer;

create or replace function app.drop_telemetry_partitions(today date, retention_days integer) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  dropped integer := 0;
  part record;
begin
  for part in
    select c.relname
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    join pg_catalog.pg_class p on p.oid = i.inhparent
    join pg_catalog.pg_namespace n on n.oid = p.relnamespace
    where n.nspname = 'app'
      and p.relname in ('request_telemetry', 'job_telemetry')
      and c.relname ~ '_\d{8}$'
      and pg_catalog.to_date(pg_catalog.right(c.relname, 8), 'YYYYMMDD') < today - retention_days
  loop
    execute pg_catalog.format('drop table app.%I', part.relname);
    dropped := dropped + 1;
  end loop;
  return dropped;
end
$$;
alter function app.drop_telemetry_partitions(date, integer) owner to sdc_definer;
