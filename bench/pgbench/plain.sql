-- The bench's plain write: one update in a transaction.
\set i random(10, 29)
begin;
-- As the workspaces' owner, as the app's transactions act (row-level security, SET LOCAL).
select set_config('sdc.user_id', '00000000-0000-7000-8000-000000000001', true);
update app.workspaces set name = 'bench', updated_at = now() where id = ('00000000-0000-7000-8000-0000000000' || :i)::uuid;
commit;
