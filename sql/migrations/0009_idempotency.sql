-- Client idempotency keys: a retried POST with the same Idempotency-Key replays the first
-- response instead of repeating the change. The row commits in the change's own transaction,
-- so "the change happened" and "the key is remembered" are one fact. Kept for 24 hours
-- (the maintenance job deletes older rows).
create table app.idempotency_keys (
  user_id uuid not null references app.users (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  -- sha256 of method, route, params and body: the same key with another request is refused.
  fingerprint text not null,
  status_code int not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);

create index idempotency_keys_created_at on app.idempotency_keys (created_at);

-- A retry answered from the stored response changes nothing; its audit row says so.
alter table app.audit_log drop constraint audit_log_outcome_check;
alter table app.audit_log add constraint audit_log_outcome_check
  check (outcome in ('success', 'failure', 'denied', 'error', 'replayed'));
