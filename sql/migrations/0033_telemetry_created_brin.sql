-- Request telemetry's created_at in a BRIN summary instead of a b-tree. Rows arrive in time order,
-- so a minmax summary of each 32-page range answers the RUNBOOK's windows (`created_at > now() -
-- interval '15 minutes'`) as a b-tree does, and a row added to the range being filled costs it
-- nothing, where the b-tree took an entry per row on the hottest insert of the service.
-- Measured with `node bench/telemetry-insert.ts 300000` (500-row batches through jsonb_array_elements,
-- as plugins/telemetry.ts sends them; Postgres's CPU from /proc; on a shared, loaded 2-core machine):
-- an insert 7.3 → 6.2 µs per row (7.5 → 6.5 on 60 000 rows); over 300 000 rows of an hour, RUNBOOK's
-- api_errors 54 → 30 ms, slow_routes 196 → 129 ms, slo 124 → 106 ms, the admin summary of the hour
-- 793 → 510 ms, a request id's correlation 0.5 → 1.1 ms (its b-tree is unchanged); on 60 000 rows the
-- windows were a few ms slower (6 → 9, 16 → 29 ms). Typed arrays through unnest saved Postgres
-- another 0.5–0.8 µs a row, but what building eleven array literals costs the api beside one
-- JSON.stringify was lost in that machine's noise (3–4.6 µs a row either way): not taken.
-- Built in this migration's transaction on every partition: on a large telemetry table, apply it in
-- a quiet window (telemetry rows wait for it; requests do not: their rows are buffered).
drop index app.request_telemetry_created_at_idx;
create index request_telemetry_created_brin on app.request_telemetry
  using brin (created_at) with (pages_per_range = 32, autosummarize = on);
