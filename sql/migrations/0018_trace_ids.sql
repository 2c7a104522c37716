-- OpenTelemetry trace ids beside the request ids: an operator holding a trace id from the tracing
-- backend (or a response's x-trace-id) finds the request, its audit rows and its jobs in SQL.
-- Null where tracing is off. Not part of the audit chain's hash: the chain's canonical form is
-- fixed for rows already sealed.

alter table app.request_telemetry add column trace_id text;
alter table app.job_telemetry add column trace_id text;
alter table app.audit_log add column trace_id text;

-- Partial: requests and jobs outside a trace pay nothing for them.
create index request_telemetry_trace_id_idx on app.request_telemetry (trace_id) where trace_id is not null;
create index job_telemetry_trace_id_idx on app.job_telemetry (trace_id) where trace_id is not null;
-- The audit log keeps one lookup index (see 0012); a bloom summary of its own costs an insert little.
create index audit_log_trace_brin on app.audit_log using brin (trace_id text_bloom_ops (n_distinct_per_range = 1000))
  with (pages_per_range = 32, autosummarize = on);
