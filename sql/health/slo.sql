-- The operational baselines over the last 15 minutes; `breached` is what `health --check` reports.
with requests as (
  select count(*) as total,
         count(*) filter (where status_code >= 500) as errors
  from app.request_telemetry
  where created_at > now() - interval '15 minutes'
),
jobs as (
  select count(*) filter (where event in ('completed', 'failed', 'retry')) as finished,
         count(*) filter (where event = 'failed') as failed
  from app.job_telemetry
  where created_at > now() - interval '15 minutes'
),
reads as (
  select percentile_cont(0.95) within group (order by duration_ms) as p95
  from app.request_telemetry
  where created_at > now() - interval '15 minutes'
    and method = 'GET'
    and route is not null
    and route not like '/health%'
)
select 'api_5xx_rate' as baseline,
       round(coalesce(errors::numeric / nullif(total, 0), 0), 4) as value,
       0.01 as threshold,
       coalesce(errors::numeric / nullif(total, 0), 0) >= 0.01 as breached
from requests
union all
select 'job_failure_rate',
       round(coalesce(failed::numeric / nullif(finished, 0), 0), 4),
       0.02,
       coalesce(failed::numeric / nullif(finished, 0), 0) >= 0.02
from jobs
union all
select 'read_p95_ms',
       round(coalesce(p95, 0)::numeric, 1),
       750,
       coalesce(p95, 0) >= 750
from reads;
