-- The database side of the audit comparison, without Node: run once on a migrated scratch
-- database (README "Benchmarks"), then pgbench each transaction script. Idempotent.
insert into app.users (id, email, email_normalized, password_hash, display_name)
values ('00000000-0000-7000-8000-000000000001', 'pgbench@example.com', 'pgbench@example.com', 'x', 'pgbench')
on conflict do nothing;
-- Workspaces are under row-level security (migration 0035): written as their owner, in one transaction.
do $$ begin
  perform set_config('sdc.user_id', '00000000-0000-7000-8000-000000000001', true); insert into app.workspaces (id, owner_id, name, design)
  select ('00000000-0000-7000-8000-0000000000' || i)::uuid, '00000000-0000-7000-8000-000000000001', 'pgbench', '{}'
  from generate_series(10, 29) as i
  on conflict do nothing; end
$$;
-- The audit row's columns and defaults with no index, constraint or trigger: what any insert of that row costs.
create table if not exists public.audit_bare (like app.audit_log including defaults);
vacuum analyze;
