-- Request and job telemetry, partitioned by day (UTC). The maintenance job keeps partitions
-- a few days ahead and drops those older than TELEMETRY_RETENTION_DAYS.
create table app.request_telemetry (
  created_at timestamptz not null,
  request_id text not null,
  method text not null,
  route text,
  path text not null,
  status_code integer not null,
  duration_ms double precision not null,
  user_id uuid,
  client_ip text,
  user_agent text
) partition by range (created_at);
create table app.request_telemetry_default partition of app.request_telemetry default;
create index request_telemetry_created_at_idx on app.request_telemetry (created_at);
create index request_telemetry_request_id_idx on app.request_telemetry (request_id);

create table app.job_telemetry (
  created_at timestamptz not null default clock_timestamp(),
  queue text not null,
  job_id uuid not null,
  event text not null check (event in ('queued', 'running', 'completed', 'failed', 'retry')),
  attempt integer not null default 0,
  duration_ms double precision,
  error_message text,
  request_id text
) partition by range (created_at);
create table app.job_telemetry_default partition of app.job_telemetry default;
create index job_telemetry_created_at_idx on app.job_telemetry (created_at);
create index job_telemetry_job_id_idx on app.job_telemetry (job_id);
create index job_telemetry_request_id_idx on app.job_telemetry (request_id);

-- Creates the daily partitions of both tables from `from_day` for `days` days; returns how many it made.
create function app.ensure_telemetry_partitions(from_day date, days integer) returns integer
language plpgsql as $$
declare
  made integer := 0;
  day date;
  parent text;
  name text;
begin
  for i in 0 .. days - 1 loop
    day := from_day + i;
    foreach parent in array array['request_telemetry', 'job_telemetry'] loop
      name := parent || '_' || to_char(day, 'YYYYMMDD');
      if to_regclass('app.' || name) is null then
        execute format(
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

-- Drops daily partitions whose whole day is older than `retention_days` before `today`.
create function app.drop_telemetry_partitions(today date, retention_days integer) returns integer
language plpgsql as $$
declare
  dropped integer := 0;
  part record;
begin
  for part in
    select c.relname
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    join pg_namespace n on n.oid = p.relnamespace
    where n.nspname = 'app'
      and p.relname in ('request_telemetry', 'job_telemetry')
      and c.relname ~ '_\d{8}$'
      and to_date(right(c.relname, 8), 'YYYYMMDD') < today - retention_days
  loop
    execute format('drop table app.%I', part.relname);
    dropped := dropped + 1;
  end loop;
  return dropped;
end
$$;

select app.ensure_telemetry_partitions((now() at time zone 'UTC')::date - 1, 5);
