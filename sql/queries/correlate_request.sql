-- Everything one request caused (or one trace: the api's x-trace-id, a trace id from the tracing
-- backend): its telemetry row, its audit rows and the lifecycle of the jobs it enqueued, in time
-- order. Set the id first: \set id 'the-x-request-id-or-trace-id'
select 'request' as source, t.created_at, t.method || ' ' || coalesce(t.route, t.path) as what,
       t.status_code::text as detail, t.duration_ms
from app.request_telemetry t
where t.request_id = :'id' or t.trace_id = :'id'
union all
select 'audit', a.created_at, a.action, a.outcome || ' ' || coalesce(a.resource_type || ':' || a.resource_id, ''), null
from app.audit_log a
where a.request_id = :'id' or a.trace_id = :'id'
union all
select 'job', j.created_at, j.queue || ' ' || j.job_id, j.event || ' attempt ' || j.attempt
       || coalesce(' ' || j.error_message, ''), j.duration_ms
from app.job_telemetry j
where j.request_id = :'id' or j.trace_id = :'id'
order by 2;
