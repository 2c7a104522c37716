-- audit.sql with the row going to a table of the same columns and defaults but no index, constraint
-- or trigger: what the audit log's own indexes and check add to any insert of that row.
\set i random(10, 29)
begin;
with audit_row as (
  insert into public.audit_bare (request_id, user_id, action, resource_type, resource_id, method, path, status_code, outcome, changes, ip_address, user_agent)
  values (gen_random_uuid()::text, null, 'bench.write', 'workspace', :i::text, 'POST', '/bench/write-audited', 200, 'success', '{}', '127.0.0.1', null)
)
update app.workspaces set name = 'bench', updated_at = now() where id = ('00000000-0000-7000-8000-0000000000' || :i)::uuid;
commit;
