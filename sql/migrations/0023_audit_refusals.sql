-- Refusals that never reached a handler (401, 403, 415, 429, a body that fails its schema, a 413,
-- an unknown URL's 404), and anonymous refusals past a client's budget of audit rows, are counted
-- here instead of written to the audit log one row each (issue 31: one client wrote 63 000 rows
-- in 20 s, which nothing may delete). One row per minute, client, route pattern and status; each
-- api adds its counts with one upsert a second. A client is an IPv4 address or an IPv6 /64.
-- Not part of the hash chain: counts, deleted by the maintenance job after 90 days.
create table app.audit_refusals (
  minute timestamptz not null,
  ip inet not null,
  route text not null,
  status integer not null,
  count integer not null check (count > 0),
  primary key (minute, ip, route, status)
);
-- "Which clients were refused most lately": the primary key serves time ranges; this, one client's history.
create index audit_refusals_ip_minute_idx on app.audit_refusals (ip, minute);
