-- Sealing cost about 70 µs of database time per row: one UPDATE statement per row, and the
-- append-only trigger rebuilt the canonical JSON of the old and the new row to check that a
-- sealing update leaves the content alone. Now a batch's chain is computed in one pass and
-- written with one UPDATE, and the trigger compares the content columns themselves (about half
-- the cost per row). Hashes and chain order are unchanged: rows sealed before still verify.

create or replace function app.audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
  -- changes is compared as text: jsonb equality would let 1 become 1.0, which the hash sees.
  if tg_op = 'UPDATE'
     and old.chain_seq is null and old.hash is null
     and new.chain_seq is not null and new.hash is not null and new.prev_hash is not null
     and (old.id, old.created_at, old.request_id, old.user_id, old.action, old.resource_type, old.resource_id,
          old.method, old.path, old.status_code, old.outcome, old.changes::text, old.ip_address, old.user_agent)
         is not distinct from
         (new.id, new.created_at, new.request_id, new.user_id, new.action, new.resource_type, new.resource_id,
          new.method, new.path, new.status_code, new.outcome, new.changes::text, new.ip_address, new.user_agent) then
    return new;
  end if;
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

-- Links up to max_rows unsealed rows, oldest id first, after the last sealed one. One sealer at a
-- time (a busy lock returns 0). SECURITY DEFINER: roles without UPDATE on the table can seal.
create or replace function app.seal_audit_log(max_rows integer) returns integer
language plpgsql security definer set search_path = pg_catalog, app as $$
declare
  last_hash text;
  last_seq bigint;
  r app.audit_log;
  ids bigint[] := '{}';
  prev_hashes text[] := '{}';
  hashes text[] := '{}';
begin
  if not pg_try_advisory_xact_lock(7346201002) then
    return 0;
  end if;
  select hash, chain_seq into last_hash, last_seq
  from app.audit_log
  where chain_seq is not null
  order by chain_seq desc
  limit 1;
  last_hash := coalesce(last_hash, repeat('0', 64));
  last_seq := coalesce(last_seq, 0);
  for r in
    select * from app.audit_log where chain_seq is null order by id limit max_rows
  loop
    ids := ids || r.id;
    prev_hashes := prev_hashes || last_hash;
    last_hash := app.audit_hash(last_hash, r);
    hashes := hashes || last_hash;
  end loop;
  update app.audit_log a
  set chain_seq = last_seq + u.n, prev_hash = u.prev_hash, hash = u.hash
  from unnest(ids, prev_hashes, hashes) with ordinality as u(id, prev_hash, hash, n)
  where a.id = u.id;
  return cardinality(ids);
end
$$;
