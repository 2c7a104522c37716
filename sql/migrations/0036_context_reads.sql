-- Reads of one statement that act for a user. A route's transaction (src/db/context.ts) costs a
-- BEGIN, a SET LOCAL and a COMMIT beside its statements; a read of one row needs none of them.
-- Each function here sets the same three settings as setContext, local to the transaction, which
-- for a statement run on its own is that statement: the context ends with it, and a pooled
-- connection never hands it on. The functions are SECURITY INVOKER: they read under the same
-- row-level security policies as a transaction that set the context. Names are qualified, so no
-- search_path is set (a SET clause costs as much again as the read's own statement).

-- The actor's workspace `ws` (narrowed to `organisation` when one is given), or no row.
create function app.workspace_as(actor uuid, organisation uuid, ws uuid) returns setof app.workspaces
language plpgsql volatile as $$
begin
  perform pg_catalog.set_config('sdc.user_id', coalesce(actor::text, ''), true),
          pg_catalog.set_config('sdc.organisation_id', coalesce(organisation::text, ''), true),
          pg_catalog.set_config('sdc.join_code', '', true);
  return query select w.* from app.workspaces w
    where w.id operator(pg_catalog.=) ws and w.owner_id operator(pg_catalog.=) actor;
end
$$;

revoke all on function app.workspace_as(uuid, uuid, uuid) from public;
grant execute on function app.workspace_as(uuid, uuid, uuid) to sdc_app;
