-- The hash chain shows an edited or deleted row, but anyone who can write the table (a superuser
-- with the triggers off) can recompute every hash after an edit and leave a valid chain. An anchor
-- is a chain position, its hash and an HMAC of both under AUDIT_HMAC_KEY, a key kept outside the
-- database: a recomputed chain no longer matches its anchors, and no one without the key can
-- write anchors that match. The api writes one at most every ten seconds while the chain grows.
create table app.audit_anchors (
  chain_seq bigint primary key,
  hash text not null,
  mac text not null,
  created_at timestamptz not null default now()
);

create function app.audit_anchors_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_anchors is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_anchors_no_update_delete
  before update or delete on app.audit_anchors
  for each row execute function app.audit_anchors_refuse_change();
create trigger audit_anchors_no_truncate
  before truncate on app.audit_anchors
  for each statement execute function app.audit_anchors_refuse_change();
