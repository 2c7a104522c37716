-- Writers no longer wait for each other: a row is inserted unsealed, and a sealer links rows into
-- the hash chain in order (chain_seq). Holding a chain-wide lock through every writer's commit cost
-- half the throughput of an audited write.
alter table app.audit_log
  alter column prev_hash drop not null,
  alter column hash drop not null,
  add column chain_seq bigint;

-- Rows chained by the old trigger keep their hashes; their order becomes chain_seq.
alter table app.audit_log disable trigger audit_log_no_update_delete;
update app.audit_log a
set chain_seq = o.seq
from (select id, row_number() over (order by id) as seq from app.audit_log) o
where o.id = a.id;
alter table app.audit_log enable trigger audit_log_no_update_delete;

alter table app.audit_log add constraint audit_log_chain_seq_key unique (chain_seq);
create index audit_log_unsealed_idx on app.audit_log (id) where chain_seq is null;

create or replace function app.audit_log_chain() returns trigger
language plpgsql as $$
begin
  new.id := nextval('app.audit_log_id_seq');
  new.created_at := clock_timestamp();
  new.prev_hash := null;
  new.hash := null;
  new.chain_seq := null;
  return new;
end
$$;

-- UPDATE is refused except the one the sealer makes: filling the chain columns of an unsealed
-- row without touching its content.
create or replace function app.audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
  if tg_op = 'UPDATE'
     and old.chain_seq is null and old.hash is null
     and new.chain_seq is not null and new.hash is not null and new.prev_hash is not null
     and app.audit_canonical(old) = app.audit_canonical(new) then
    return new;
  end if;
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

-- Links up to max_rows unsealed rows, oldest id first, after the last sealed one. One sealer at a
-- time (a busy lock returns 0). SECURITY DEFINER: roles without UPDATE on the table can seal.
create function app.seal_audit_log(max_rows integer) returns integer
language plpgsql security definer set search_path = pg_catalog, app as $$
declare
  last_hash text;
  last_seq bigint;
  r app.audit_log;
  sealed integer := 0;
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
    last_seq := last_seq + 1;
    update app.audit_log
    set chain_seq = last_seq, prev_hash = last_hash, hash = app.audit_hash(last_hash, r)
    where id = r.id
    returning hash into last_hash;
    sealed := sealed + 1;
  end loop;
  return sealed;
end
$$;
