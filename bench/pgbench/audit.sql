-- The plain write with its audit row as the routes write it (request.audit in front of the store's statement:
-- the row's insert as a `with` clause of the change's statement). Unsealed, as a row is at commit.
\set i random(10, 29)
begin;
-- As the workspaces' owner, as the app's transactions act (row-level security, SET LOCAL).
select set_config('sdc.user_id', '00000000-0000-7000-8000-000000000001', true);
with audit_row as (
  insert into app.audit_log (request_id, user_id, action, resource_type, resource_id, method, path, status_code, outcome, changes, ip_address, user_agent)
  values (gen_random_uuid()::text, null, 'bench.write', 'workspace', :i::text, 'POST', '/bench/write-audited', 200, 'success', '{}', '127.0.0.1', null)
)
update app.workspaces set name = 'bench', updated_at = now() where id = ('00000000-0000-7000-8000-0000000000' || :i)::uuid;
commit;
