-- Append-only, hash-chained audit log. Each row's hash covers the previous row's hash and
-- the row's canonical content; the trigger serialises writers so the chain never forks.
create sequence app.audit_log_id_seq;
create table app.audit_log (
  -- Assigned by the trigger under its lock, so id order is chain order.
  id bigint primary key,
  created_at timestamptz not null default clock_timestamp(),
  request_id text,
  user_id uuid,
  action text not null,
  resource_type text,
  resource_id text,
  method text,
  path text,
  status_code integer,
  outcome text not null check (outcome in ('success', 'failure', 'denied', 'error')),
  changes jsonb,
  ip_address text,
  user_agent text,
  prev_hash text not null,
  hash text not null
);
create index audit_log_created_at_idx on app.audit_log (created_at);
create index audit_log_request_id_idx on app.audit_log (request_id);
create index audit_log_user_id_idx on app.audit_log (user_id, id);
create index audit_log_action_idx on app.audit_log (action, id);

-- The canonical content: jsonb's text form has a fixed key order; time as epoch microseconds.
create function app.audit_canonical(r app.audit_log) returns text
language sql immutable as $$
  select jsonb_build_object(
    'id', r.id,
    'created_at', (extract(epoch from r.created_at) * 1000000)::bigint,
    'request_id', r.request_id,
    'user_id', r.user_id,
    'action', r.action,
    'resource_type', r.resource_type,
    'resource_id', r.resource_id,
    'method', r.method,
    'path', r.path,
    'status_code', r.status_code,
    'outcome', r.outcome,
    'changes', r.changes,
    'ip_address', r.ip_address,
    'user_agent', r.user_agent
  )::text
$$;

create function app.audit_hash(prev_hash text, r app.audit_log) returns text
language sql immutable as $$
  select encode(sha256(convert_to(prev_hash || '|' || app.audit_canonical(r), 'UTF8')), 'hex')
$$;

create function app.audit_log_chain() returns trigger
language plpgsql as $$
begin
  -- Held to the end of the writer's transaction: the next writer sees this row as its predecessor.
  perform pg_advisory_xact_lock(7346201002);
  new.id := nextval('app.audit_log_id_seq');
  new.created_at := clock_timestamp();
  select hash into new.prev_hash from app.audit_log order by id desc limit 1;
  new.prev_hash := coalesce(new.prev_hash, repeat('0', 64));
  new.hash := app.audit_hash(new.prev_hash, new);
  return new;
end
$$;

alter sequence app.audit_log_id_seq owned by app.audit_log.id;

create trigger audit_log_chain
  before insert on app.audit_log
  for each row execute function app.audit_log_chain();

create function app.audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_no_update_delete
  before update or delete on app.audit_log
  for each row execute function app.audit_log_refuse_change();

create trigger audit_log_no_truncate
  before truncate on app.audit_log
  for each statement execute function app.audit_log_refuse_change();
